"""Waits for the contract suite: on the process list, through SupervisorAPI only, so the
same test reads the engine and the daemon alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from corral.engine.api import SupervisorAPI
from corral.engine.events import ProcessInfo

POLL_S = 0.05

Check = Callable[[list[ProcessInfo]], bool]


async def until(api: SupervisorAPI, check: Check, timeout: float = 15.0) -> list[ProcessInfo]:
    """The process list once CHECK holds for it; fails the test after TIMEOUT seconds
    (generous: the machine is shared and the daemon answers between its own work)."""
    deadline = time.monotonic() + timeout
    infos = await api.list_processes()
    while not check(infos):
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met in {timeout} s: {[_brief(i) for i in infos]}")
        await asyncio.sleep(POLL_S)
        infos = await api.list_processes()
    return infos


async def holds(api: SupervisorAPI, check: Check, seconds: float) -> list[ProcessInfo]:
    """The process list after CHECK held for SECONDS (the point of the test is that
    nothing happens in that time); fails the moment it does not hold."""
    deadline = time.monotonic() + seconds
    while True:
        infos = await api.list_processes()
        assert check(infos), [_brief(i) for i in infos]
        if time.monotonic() > deadline:
            return infos
        await asyncio.sleep(POLL_S)


def _brief(info: ProcessInfo) -> str:
    reasons = ",".join(r.reason for r in info.reasons)
    return (
        f"{info.name}[{info.id}] {info.status} restarts={info.restarts} "
        f"watching={info.watching} next_cron={info.next_cron} reasons={reasons}"
    )
