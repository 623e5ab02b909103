"""Every key against a real in-process engine (what `corral up` runs): real processes change.

The assertions are on the engine's own state (restarts counted, a process stopped, gone,
scaled) and on what the widgets show, never on sleeps: each step waits for a condition.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.engine import ProcessState, Supervisor
from corral.tui.app import CorralApp, make_app
from corral.tui.widgets.confirm import ConfirmScreen
from corral.tui.widgets.details import DetailsScreen
from corral.tui.widgets.help import HelpScreen
from tests.helpers import app as spec
from tests.tui.pilot import wait_until

pytestmark = pytest.mark.timeout(60)


def states(sup: Supervisor) -> dict[str, list[ProcessState]]:
    """Each app's processes' states, by name."""
    out: dict[str, list[ProcessState]] = {}
    for proc in sup.processes():
        out.setdefault(proc.spec.name, []).append(proc.state)
    return out


def table_text(app: CorralApp) -> str:
    """Every cell of the process table, as text."""
    rows = [app.table.get_row_at(i) for i in range(app.table.row_count)]
    return "\n".join(" ".join(str(cell) for cell in row) for row in rows)


def cell(app: CorralApp, pm_id: int, column: str) -> str:
    """The text of one cell of process PM_ID's row."""
    return str(app.table.get_cell(f"id:{pm_id}", column))


def online(sup: Supervisor, name: str, count: int = 1) -> bool:
    return states(sup).get(name) == [ProcessState.ONLINE] * count


async def test_lifecycle_keys_drive_real_processes(home: Path, no_leftovers: None) -> None:
    """r restarts, s stops, S starts, l reloads, + and - scale, d then y deletes."""
    async with Supervisor(home) as sup:
        await sup.add([spec("sleeper.py", "alpha"), spec("sleeper.py", "beta")])
        app = make_app(sup, source="up", home=str(home))
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda: app.table.row_count == 2, what="two rows")
            alpha = sup.processes()[0]
            pid = alpha.pid
            await pilot.press("r")
            await wait_until(pilot, lambda: alpha.restarts == 1 and online(sup, "alpha"))
            assert alpha.pid != pid
            await wait_until(pilot, lambda: cell(app, alpha.id, "restarts") == "1")
            await pilot.press("s")
            await wait_until(pilot, lambda: states(sup)["alpha"] == [ProcessState.STOPPED])
            await wait_until(pilot, lambda: "stopped" in cell(app, alpha.id, "status"))
            assert cell(app, alpha.id, "pid") == "-"
            await pilot.press("S")
            await wait_until(pilot, lambda: online(sup, "alpha"))
            await pilot.press("l")
            await wait_until(pilot, lambda: alpha.restarts == 2 and online(sup, "alpha"))
            await pilot.press("plus")
            await wait_until(pilot, lambda: online(sup, "alpha", 2), what="scaled to 2")
            await wait_until(pilot, lambda: "app:alpha" in [r.key for r in app.feed.board.rows()])
            await pilot.press("minus")
            await wait_until(pilot, lambda: online(sup, "alpha", 1), what="scaled to 1")
            await wait_until(pilot, lambda: app.table.row_count == 2, what="the table follows")
            await pilot.press("down", "d")  # beta
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await wait_until(pilot, lambda: "beta" not in states(sup), what="beta deleted")
            await wait_until(pilot, lambda: app.table.row_count == 1)
            assert states(sup) == {"alpha": [ProcessState.ONLINE]}


async def test_view_keys_on_live_logs(home: Path, no_leftovers: None) -> None:
    """/ searches, f pauses and resumes, a filters, enter and ? open screens, tab moves focus."""
    async with Supervisor(home) as sup:
        await sup.add([spec("chatty.py", "talker", args=("30",)), spec("sleeper.py", "quiet")])
        app = make_app(sup, source="up", home=str(home))
        async with app.run_test(size=(120, 36)) as pilot:
            tail = app.tail
            await wait_until(pilot, lambda: any("talker[0] | done" in x for x in tail.lines))
            assert any("talker[0] ! err 10" in line for line in tail.lines), "stderr is marked"
            await pilot.press("slash", *"line 2", "enter")
            await wait_until(pilot, lambda: tail.line_count == 11, what="search results")
            assert all("line 2" in line for line in tail.lines)
            await pilot.press("slash", "escape")
            await wait_until(pilot, lambda: tail.line_count > 30)
            await pilot.press("f")
            assert "paused" in str(tail.border_title)
            count = tail.line_count
            await sup.restart("quiet")  # its lifecycle lines arrive while paused
            await wait_until(pilot, lambda: "+" in str(tail.border_title), what="missed count")
            assert tail.line_count == count
            await pilot.press("f")
            await wait_until(pilot, lambda: tail.line_count > count)
            await pilot.press("shift+tab", "a")  # back to the table (quiet sorts first): its logs
            await wait_until(pilot, lambda: "logs · quiet" in str(tail.border_title))
            await wait_until(
                pilot, lambda: all(r.id == 1 for r in tail.records if r.kind != "rule")
            )
            await pilot.press("enter")
            assert isinstance(app.screen, DetailsScreen)
            await pilot.press("escape", "question_mark")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape", "tab")
            assert app.focused is tail


async def test_quit_up_asks_then_stops_every_app(home: Path, no_leftovers: None) -> None:
    """q in `up` asks "Stop 2 apps and quit?"; n stays, y stops them and quits."""
    async with Supervisor(home) as sup:
        await sup.add([spec("sleeper.py", "one"), spec("sleeper.py", "two")])
        app = make_app(sup, source="up", home=str(home))
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.feed.board.running() == 2)
            await pilot.press("q")
            assert isinstance(app.screen, ConfirmScreen)
            assert app.screen.question == "Stop 2 apps and quit?"
            await pilot.press("n")
            assert not isinstance(app.screen, ConfirmScreen)
            await pilot.press("q", "y")
            await wait_until(pilot, lambda: app._exit_renderables is not None or not app.is_running)
        assert states(sup) == {"one": [ProcessState.STOPPED], "two": [ProcessState.STOPPED]}
        assert app.return_code == 0


async def test_ctrl_c_twice_quits_at_once(home: Path, no_leftovers: None) -> None:
    """The first Ctrl-C warns, the second quits without asking (`up` then stops the apps)."""
    async with Supervisor(home) as sup:
        await sup.add([spec("sleeper.py", "one")])
        app = make_app(sup, source="up", home=str(home))
        app.double_interrupt_s = 60.0  # two presses on a loaded machine may be seconds apart
        async with app.run_test() as pilot:
            await wait_until(pilot, lambda: app.feed.board.running() == 1)
            await pilot.press("ctrl+c")
            assert app.is_running
            await pilot.press("ctrl+c")
            await wait_until(pilot, lambda: app.return_code is not None)
        assert app.return_code == 0
        assert states(sup) == {"one": [ProcessState.ONLINE]}  # stopped by `up`, not the UI
