"""A probe stopped at the instant its attempt completes stops all the same.

Python 3.11's `asyncio.wait_for` hands back the result when the cancel lands as the
awaited thing completes, swallowing the cancel; a probe loop around it ran on forever and
hung the loop's shutdown (seen once in a suite run under load). The attempt is replaced
here by one whose end the test controls, which is the only way to hit that instant on
purpose.
"""

from __future__ import annotations

import asyncio

import pytest

from corral.config.spec import Probe
from corral.engine import probes
from corral.engine.probes import Prober


async def test_a_cancel_swallowed_by_wait_for_still_stops_the_probe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ends: list[asyncio.Future[str | None]] = []
    begun = asyncio.Event()

    async def attempt(*_: object) -> str | None:
        ends.append(asyncio.get_running_loop().create_future())
        begun.set()
        return await asyncio.wait_for(ends[-1], 30)

    monkeypatch.setattr(probes, "attempt", attempt)
    prober = Prober("liveness", Probe("tcp", "127.0.0.1:9", period=100), {}, "/", lambda _: None)
    task = asyncio.create_task(prober.until_failing())
    await asyncio.wait_for(begun.wait(), 10)
    ends[0].set_result("connection refused")  # the attempt ends ...
    task.cancel()  # ... as the run stops
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    assert len(ends) == 1 and not prober.status.running
