"""monit's header says NOT SAVED while the daemon cannot write its state or dump."""

from __future__ import annotations

from typing import Literal

from corral.engine.events import PERSISTENCE, Lifecycle
from corral.tui.app import make_app
from corral.tui.widgets.header_bar import HeaderBar
from tests.tui.pilot import settle
from tests.tui.scripted import NOW, ScriptedAPI, demo_events


def failing(level: Literal["info", "error"]) -> Lifecycle:
    text = "cannot write /h/dump.json: No space left on device; retrying until it succeeds"
    return Lifecycle(-1, PERSISTENCE, NOW, text if level == "error" else "written again", level)


async def test_the_header_shows_the_alarm_until_a_write_succeeds() -> None:
    for events, shown in (
        ([*demo_events(), failing("error")], True),
        ([*demo_events(), failing("error"), failing("info")], False),
    ):
        app = make_app(ScriptedAPI(events), clock=lambda: NOW, home="/h", history_lines=0)
        async with app.run_test(size=(120, 30)) as pilot:
            await settle(pilot)
            header = str(app.query_one(HeaderBar).render())
            assert ("NOT SAVED" in header) is shown, header
