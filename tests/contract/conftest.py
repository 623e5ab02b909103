"""The two backends every front end drives: the in-process Supervisor and the daemon
through its client. Each contract test runs against both, so a behaviour only one of them
has fails there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from corral.daemon.aclient import AsyncClient
from corral.engine.api import SupervisorAPI
from corral.engine.supervisor import Supervisor
from tests.helpers import Corral


@pytest.fixture(params=["engine", "daemon"])
async def api(
    request: pytest.FixtureRequest, home: Path, no_leftovers: None
) -> AsyncIterator[SupervisorAPI]:
    """A SupervisorAPI on a private home: the engine in this process, or a real daemon
    (stopped at teardown, with a check that none of its processes is left)."""
    if request.param == "engine":
        async with Supervisor(home) as supervisor:
            yield supervisor
        return
    runner = Corral(home)
    await asyncio.to_thread(runner.ok, "ping")
    try:
        yield AsyncClient(runner.home)
    finally:
        left = await asyncio.to_thread(runner.teardown)
    assert not left, f"processes of {home} left behind: {left}"
