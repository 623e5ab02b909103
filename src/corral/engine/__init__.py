"""Provides the engine: supervise processes, publish events. Knows nothing of any UI."""

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
