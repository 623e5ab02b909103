"""Provides when a run counts as ready: at once, on READY=1 (or Node's process.send('ready')),
or when its readiness probe passes (`health_check` is a spelling of one).

Kept apart from process.py so the rule is one small function: the first of the signals
the app is configured for, bounded by listen_timeout, and never after the run exited.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Sequence
from typing import Any

from corral.config.spec import AppSpec


def needed(spec: AppSpec) -> bool:
    """True when a fresh run must wait before it is `online`."""
    return spec.wait_ready or spec.readiness_probe is not None


async def wait(
    spec: AppSpec,
    told: Sequence[asyncio.Future[bool]],
    exited: asyncio.Future[int],
    passing: Coroutine[Any, Any, bool] | None = None,
) -> bool:
    """True once the run is ready (TOLD: futures the child's own messages resolve; PASSING:
    the readiness probe, run until it passes); False if it exited first or listen_timeout
    passed. The probe is stopped either way."""
    if not needed(spec):
        if passing is not None:
            passing.close()
        return True
    signals: list[asyncio.Future[bool]] = list(told)
    ended: asyncio.Future[bool] = asyncio.ensure_future(_exit_means_not_ready(exited))
    probing = asyncio.ensure_future(passing) if passing is not None else None
    if probing is not None:
        signals.append(probing)
    try:
        done, _ = await asyncio.wait(
            [*signals, ended],
            timeout=spec.listen_timeout / 1000,
            return_when=asyncio.FIRST_COMPLETED,
        )
        return any(f in done and not f.cancelled() and f.result() is True for f in signals)
    finally:
        ended.cancel()
        if probing is not None:
            probing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probing


async def _exit_means_not_ready(exited: asyncio.Future[int]) -> bool:
    await asyncio.shield(exited)
    return False


async def listening(
    spec: AppSpec, listened: asyncio.Future[bool], exited: asyncio.Future[int]
) -> None:
    """Wait until the run got its shared socket, it exited, or listen_timeout passed (a
    replacement that never listens is not waited for longer than that)."""
    waits: list[asyncio.Future[object]] = [asyncio.shield(listened), asyncio.shield(exited)]
    await asyncio.wait(
        waits,
        timeout=spec.listen_timeout / 1000,
        return_when=asyncio.FIRST_COMPLETED,
    )
