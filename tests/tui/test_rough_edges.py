"""The rough edges a newcomer met in the first minute (issue 17), each pinned down."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from pathlib import Path

from corral.engine import Supervisor
from corral.engine.events import StateChanged
from corral.engine.states import ProcessState
from corral.tui.app import make_app
from corral.tui.run import _report_start
from corral.tui.widgets.confirm import ConfirmScreen
from tests.helpers import app as spec
from tests.tui.pilot import settle, wait_until
from tests.tui.scripted import NOW, T0, ScriptedAPI, demo_events


def scripted(events: list[StateChanged] | None = None) -> ScriptedAPI:
    return ScriptedAPI([*demo_events(), *(events or [])])


def restate(pm_id: int, status: ProcessState) -> StateChanged:
    """Process PM_ID of the demo, now in STATUS."""
    info = next(e.info for e in demo_events() if isinstance(e, StateChanged) and e.info.id == pm_id)
    return StateChanged(replace(info, status=status), T0 + 1)


async def test_quit_counts_the_process_waiting_to_restart() -> None:
    """Three processes to stop (one of them waiting to restart): the dialog says 3, not 2."""
    api = scripted([restate(1, ProcessState.WAITING_RESTART), restate(2, ProcessState.STOPPED)])
    app = make_app(api, source="up", clock=lambda: NOW, history_lines=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == "Stop 3 apps and quit?"  # web[0], web[1] waiting, leaker


async def test_header_counts_every_state() -> None:
    """Stopped apps are counted in the header like the others."""
    api = scripted([restate(2, ProcessState.STOPPED)])
    app = make_app(api, clock=lambda: NOW, history_lines=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = str(app.header.render())
        assert "3 online" in text and "1 stopped" in text and "1 errored" in text


async def test_palette_has_one_quit() -> None:
    """Textual's own Quit (which skips the confirmation) is not offered beside ours."""
    app = make_app(ScriptedAPI(), clock=lambda: NOW, history_lines=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert sum(t.startswith("Quit") for t in titles) == 1


async def test_key_bar_fits_80_columns_and_follows_the_focus() -> None:
    """At 80 columns no key is cut and the palette ends the line; while typing a search,
    only the search's own keys show (no `+ Scale`)."""
    app = make_app(ScriptedAPI(), clock=lambda: NOW, history_lines=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        line = str(app.keys.render())
        assert line.rstrip().endswith("^p palette") and len(line) <= 78
        assert "? Help" in line and "q Quit" in line and "f Follow" in line
        await pilot.press("slash")
        await pilot.pause()
        line = str(app.keys.render())
        assert "Scale" not in line and "keep search" in line and "clear search" in line
        await pilot.press("escape")
        await pilot.pause()
        assert "Restart" in str(app.keys.render())


async def test_start_error_shows_on_screen(home: Path, no_leftovers: None) -> None:
    """`corral up` whose app cannot bind its port says so on screen, naming the app."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        web = spec("httpd.py", "web", exec_mode="cluster", listen=(f"127.0.0.1:{port}",))
        async with Supervisor(home) as sup:
            app = make_app(sup, source="up", home=str(home), history_lines=0)
            async with app.run_test(size=(120, 40)) as pilot:
                adding = asyncio.create_task(sup.add([web]))
                adding.add_done_callback(lambda task: _report_start(app, task))
                await wait_until(pilot, adding.done, what="the add to fail")
                await settle(pilot)
                assert "could not start: app 'web'" in str(app.header.render())
                notes = [n.message for n in app._notifications]
                assert any("app 'web'" in n and "in use" in n for n in notes)
