"""The log tail follows the newest line from the first frame, and stops only when asked.

The bug these pin down: after `corral up` the tail stayed on old lines while new ones
arrived (a horizontal scrollbar moved the bottom by a row, and "at the end" was never
true again). History with a line wider than the tail recreates exactly that start.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from corral.engine import Supervisor
from corral.engine.events import LogLines
from corral.tui.app import CorralApp, make_app
from tests.helpers import app as spec
from tests.tui.pilot import settle, wait_until
from tests.tui.scripted import NOW, LiveScript


def history_home(tmp_path: Path) -> Path:
    """A home whose logs hold 300 old lines of `web`, one wider than any tail."""
    logs = tmp_path / "logs"
    logs.mkdir()
    old = [f"old line {n}" for n in range(300)]
    old[150] = "a very wide old line " + "w" * 400
    (logs / "web-0.log").write_text("")
    (logs / "web-out-0.log").write_text("\n".join(old) + "\n")
    (logs / "worker-out.log").write_text("worker: earlier output\n")
    return tmp_path


def burst(first: int, count: int) -> list[LogLines]:
    """COUNT lines of worker[2], numbered from FIRST."""
    return [
        LogLines.of(2, "worker", "out", NOW + n / 100, (f"burst {n}".encode(),))
        for n in range(first, first + count)
    ]


def app_on(api: LiveScript, home: Path) -> CorralApp:
    return make_app(api, clock=lambda: NOW, home=str(home), history_lines=200)


def at_newest(app: CorralApp, text: str) -> bool:
    """The tail holds TEXT as its last line and shows that line at the bottom."""
    tail = app.tail
    lines = tail.lines
    return (
        bool(lines)
        and lines[-1].endswith(text)
        and tail.scroll_offset.y == tail.max_scroll_y
        and tail.max_scroll_y > 0
    )


async def newest(pilot: Pilot[int], app: CorralApp, text: str, what: str) -> None:
    await wait_until(pilot, lambda: at_newest(app, text), what=what)
    await settle(pilot)  # everything sent is drawn (a scrollbar may have appeared): still there
    assert at_newest(app, text), what


async def test_tail_follows_at_start_after_a_burst_and_a_resize(tmp_path: Path) -> None:
    """History present: the newest line is shown at start, after a burst, after a resize."""
    api = LiveScript()
    app = app_on(api, history_home(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(
            pilot, lambda: any("old line" in x for x in app.tail.lines), what="history"
        )
        api.push(burst(0, 1))
        await newest(pilot, app, "burst 0", "newest line at start, with history")
        api.push(burst(1, 600))
        await newest(pilot, app, "burst 600", "newest line after a burst")
        await pilot.resize_terminal(80, 24)
        await newest(pilot, app, "burst 600", "newest line after a resize")
        api.push(burst(601, 1))
        await newest(pilot, app, "burst 601", "still following after the resize")


async def test_scrolling_up_stops_following_and_f_or_end_resumes(tmp_path: Path) -> None:
    """Scrolling up pauses (the border says so, the view keeps still); End and f follow again."""
    api = LiveScript()
    app = app_on(api, history_home(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        api.push(burst(0, 100))
        await newest(pilot, app, "burst 99", "following")
        tail = app.tail
        tail.focus()
        await pilot.press("pageup")
        await wait_until(pilot, lambda: "paused" in str(tail.border_title), what="paused")
        held = tail.scroll_offset.y
        api.push(burst(100, 5))
        await wait_until(pilot, lambda: "+5 new" in str(tail.border_title), what="missed count")
        assert tail.scroll_offset.y == held, "the view keeps still while paused"
        await pilot.press("end")
        await newest(pilot, app, "burst 104", "End follows again")
        await pilot.press("up", "up")
        await wait_until(pilot, lambda: "paused" in str(tail.border_title), what="paused again")
        api.push(burst(105, 1))
        await pilot.press("f")
        await newest(pilot, app, "burst 105", "f follows again")
        assert "paused" not in str(tail.border_title)


async def test_exit_marker_follows_the_last_lines(home: Path, no_leftovers: None) -> None:
    """Real processes dying of a traceback: in the tail each one's exit marker comes last."""
    async with Supervisor(home) as sup:
        app = make_app(sup, source="up", home=str(home), history_lines=0)
        async with app.run_test(size=(120, 40)) as pilot:
            # Wait for the app's subscription: these processes die at once.
            await wait_until(pilot, lambda: sup._hub.watched, what="the app subscribed")
            await sup.add([spec("tracer.py", instances=4, autorestart=False)])

            def ended() -> bool:
                return sum("exited with code 1" in x for x in app.tail.lines) == 4

            await wait_until(pilot, ended, timeout=30, what="four exits")
            for pm_id in range(4):
                mine = [x for x in app.tail.lines if f"tracer[{pm_id}]" in x]
                last = max(i for i, x in enumerate(mine) if "the last line of the traceback" in x)
                exited = next(i for i, x in enumerate(mine) if "exited with code 1" in x)
                assert last < exited, f"tracer[{pm_id}]: exit shown before the traceback ended"
