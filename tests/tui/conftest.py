"""Fixtures for the TUI tests: deterministic screens, a scripted API, a daemon of their own.

Deterministic: no animations (read once at import, so patched, not set in the
environment), local time in UTC for the log stamps, and the scripted API's fixed clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from corral.daemon.aclient import AsyncClient
from corral.daemon.launch import connect_or_start
from corral.home import Home
from corral.tui.app import CorralApp, make_app
from tests.helpers import gone
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
