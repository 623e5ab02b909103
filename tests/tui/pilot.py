"""Driving the Textual app under Pilot: letting it settle, waiting on what it shows."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from corral.tui.app import CorralApp
from corral.tui.base import LiveApp
from tests.helpers import DEADLINE_S
from tests.tui.scripted import ScriptedAPI


def drawn(app: LiveApp) -> bool:
    """APP has taken every scripted event and drawn all it took (its frame timer is idle),
    the samples and host figures kept for the 1 Hz tick included: a snapshot taken before
    that tick drew a sparkline one sample short (seen under load)."""
    delivered = not isinstance(app.api, ScriptedAPI) or app.api.delivered
    idle = not app._dirty and not app.feed.pending and app._tail_timer is None
    return delivered and idle and not app._dirty_panes and not app._with_tick


async def settle(pilot: Pilot[int]) -> None:
    """Wait until the scripted events are through and drawn, then for the screen update."""
    app = pilot.app
    assert isinstance(app, LiveApp)
    await wait_until(pilot, lambda: drawn(app), what="the app to draw what it was sent")
    await pilot.pause()


async def wait_until(
    pilot: Pilot[int],
    predicate: Callable[[], object],
    timeout: float = DEADLINE_S,
    what: str = "",
) -> None:
    """Let the app run until PREDICATE holds; fail after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.02)


async def commands_done(app: CorralApp) -> None:
    """Wait for the commands the keys sent (the event worker runs for as long as the app)."""
    workers = [w for w in app.workers if w.group == "commands"]
    if workers:  # an empty list would mean every worker, the endless event worker too
        await app.workers.wait_for_complete(workers)
