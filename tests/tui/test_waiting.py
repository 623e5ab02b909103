"""A process waiting for its dependencies, as the TUI shows it: its own state colour and
symbol in the table, counted in the header, and what it waits for in its pane."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Label

from corral.engine.events import StateChanged
from corral.engine.states import ProcessState
from corral.tui.app import make_app
from corral.tui.widgets.process_table import STATUS_TEXT
from tests.tui.pilot import settle
from tests.tui.scripted import NOW, T0, ScriptedAPI, demo_events


def waiting(pm_id: int, *why: str) -> StateChanged:
    info = next(e.info for e in demo_events() if isinstance(e, StateChanged) and e.info.id == pm_id)
    changed = replace(info, status=ProcessState.WAITING, pid=None, waiting_for=why)
    return StateChanged(changed, T0 + 1)


async def test_waiting_shows_its_state_and_reason() -> None:
    api = ScriptedAPI([*demo_events(), waiting(2, "db ready", "migrate exited 1")])
    app = make_app(api, clock=lambda: NOW, history_lines=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "1 waiting" in str(app.header.render())
        reason = app.query_one("#pane-2 #reason", Label)
        assert str(reason.render()) == "waiting: db ready, migrate exited 1"
        shot = app.export_screenshot()
        assert STATUS_TEXT[ProcessState.WAITING].split()[0] in shot  # ◇ in the table
        colours = app.colours
        assert colours.status[ProcessState.WAITING] != colours.status[ProcessState.ONLINE]
