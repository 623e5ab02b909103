"""Provides the engine: supervise processes, publish events. Knows nothing of any UI.

`Supervisor` is imported on first use: it brings psutil and the samplers, which a front
end that only reads events (`corral monit` on the daemon) never needs.
"""

from typing import TYPE_CHECKING, Any

from corral.engine.api import SupervisorAPI, UnknownTarget
from corral.engine.events import (
    Event,
    Lifecycle,
    LogLines,
    ProcessInfo,
    Removed,
    StateChanged,
)
from corral.engine.states import ProcessState

if TYPE_CHECKING:
    from corral.engine.supervisor import Supervisor

__all__ = [
    "Event",
    "Lifecycle",
    "LogLines",
    "ProcessInfo",
    "ProcessState",
    "Removed",
    "StateChanged",
    "Supervisor",
    "SupervisorAPI",
    "UnknownTarget",
]


def __getattr__(name: str) -> Any:
    if name == "Supervisor":
        from corral.engine.supervisor import Supervisor

        return Supervisor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
