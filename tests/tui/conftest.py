"""Fixtures for the TUI tests: deterministic screens, a scripted API, and waiting helpers.

Deterministic: no animations (read once at import, so patched, not set in the
environment), local time in UTC for the log stamps, and the scripted API's fixed clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from corral.daemon.aclient import AsyncClient
from corral.daemon.launch import connect_or_start
from corral.home import Home
from corral.tui.app import CorralApp, make_app
from tests.integration.test_daemon import gone
from tests.tui.scripted import NOW, ScriptedAPI


@pytest.fixture(autouse=True)
def deterministic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No animations, UTC stamps: the same pixels on every machine."""
    monkeypatch.setattr("textual.constants.TEXTUAL_ANIMATIONS", "none")
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def api() -> ScriptedAPI:
    """The four demo apps, scripted."""
    return ScriptedAPI()


@pytest.fixture
def scripted_app(api: ScriptedAPI) -> CorralApp:
    """The app on the scripted API, with a fixed clock and no files to read."""
    return make_app(api, clock=lambda: NOW, home="/srv/corral", history_lines=0)


@pytest.fixture
async def daemon(home: Path, no_leftovers: None) -> AsyncIterator[AsyncClient]:
    """A daemon of its own, stopped (with its apps) at teardown."""
    where = Home(str(home))
    await asyncio.to_thread(lambda: connect_or_start(where).close())
    yield AsyncClient(where)
    pid = where.daemon_pid()
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not gone(pid):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def settle(pilot: Pilot[int]) -> None:
    """Let the scripted events through and a frame or two be drawn."""
    await pilot.pause()
    await pilot.pause(0.2)
    await pilot.pause()


async def wait_until(
    pilot: Pilot[int], predicate: Callable[[], object], timeout: float = 10.0, what: str = ""
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
