"""Provides what the TUI may ask a backend beyond SupervisorAPI, when the backend offers it.

The in-process Supervisor keeps a ring of recent samples per process (`history`) and the
latest host figures (`host`); a daemon client may or may not. Asking through these
helpers lets one app run against either, and against a test's scripted API, with the
sparklines full at once when the ring is there and filling up live when it is not.
"""

from __future__ import annotations

import inspect
from typing import Any

from corral.daemon.client import DaemonError
from corral.engine.api import SupervisorAPI, UnknownTarget
from corral.engine.events import HostSample, MetricsSample

EXPECTED = (UnknownTarget, DaemonError, ConnectionError, OSError)
"""What asking may raise and the TUI rides out: a process just deleted, an older daemon
without the method, a daemon going away (the event stream reports that one)."""


async def _ask(api: SupervisorAPI, method: str, *args: Any) -> Any:
    call = getattr(api, method, None)
    if not callable(call):
        return None
    result = call(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def fetch_history(api: SupervisorAPI, pm_id: int) -> list[MetricsSample]:
    """PM_ID's recent samples, oldest first; empty when the backend keeps none."""
    try:
        result = await _ask(api, "history", pm_id)
    except EXPECTED:  # the live points will do
        return []
    return [s for s in result or () if isinstance(s, MetricsSample)]


async def fetch_host(api: SupervisorAPI) -> HostSample | None:
    """The backend's latest host figures, if it has them."""
    try:
        result = await _ask(api, "host")
    except EXPECTED:  # optional: the header fills in at the next host sample
        return None
    return result if isinstance(result, HostSample) else None
