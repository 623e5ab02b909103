"""Shared fixtures: a private CORRAL_HOME per test, fixture apps, an event recorder.

Every test that starts processes checks at teardown that none of them is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from corral.config.spec import AppSpec
from corral.engine import Supervisor
from corral.engine.events import Event

APPS = Path(__file__).parent / "apps"
PYTHON = sys.executable
POLL_S = 0.02


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private CORRAL_HOME, so no test touches ~/.corral or another test's daemon."""
    path = tmp_path / "home"
    monkeypatch.setenv("CORRAL_HOME", str(path))
    return path


def app(script: str, name: str | None = None, **kw: Any) -> AppSpec:
    """An AppSpec running tests/apps/SCRIPT with this Python."""
    kw.setdefault("env", dict(os.environ, PYTHONUNBUFFERED="1"))
    return AppSpec(
        name=name or script.removesuffix(".py"),
        script=str(APPS / script),
        cwd=str(APPS),
        interpreter=PYTHON,
        **kw,
    )


class Recorder:
    """Collects events; tests wait on a condition with a deadline, never on a sleep."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[list[Event]], bool], timeout: float = 10.0
    ) -> list[Event]:
        """Return the events once PREDICATE holds; fail the test after TIMEOUT seconds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"condition not met in {timeout} s; last events: {self.events[-8:]}")
            self._changed.clear()
            # Wake on the next event, or after a short poll for conditions outside the
            # event stream (a pid file, a process gone).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, POLL_S))
        return self.events


def descendants() -> set[int]:
    """Live (non-zombie) descendants of the test process."""
    out = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                out.add(proc.pid)
        except psutil.Error:
            pass
    return out


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    """Fail the test if it leaves any process of its own behind."""
    before = descendants()
    yield
    deadline = time.monotonic() + 5
    left = descendants() - before
    while left and time.monotonic() < deadline:
        time.sleep(0.05)  # teardown only: waiting for the kernel, not synchronising a test
        left = descendants() - before
    for pid in left:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    assert not left, f"processes left behind: {left}"


@pytest.fixture
async def sup(home: Path, no_leftovers: None) -> AsyncIterator[tuple[Supervisor, Recorder]]:
    """An opened Supervisor in a private home, with a Recorder sink; closed at teardown."""
    supervisor = Supervisor(home)
    recorder = Recorder()
    supervisor.add_sink(recorder)
    async with supervisor:
        yield supervisor, recorder
