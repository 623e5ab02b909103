"""The process managers under test, one adapter module each (see `base`)."""

from benchmarks.adapters.base import AppDef, ProcView, Session, Tool, ToolUnavailable
from benchmarks.adapters.corral import Corral
from benchmarks.adapters.pm2 import Pm2
from benchmarks.adapters.supervisord import Supervisord

__all__ = [
    "AppDef",
    "Corral",
    "Pm2",
    "ProcView",
    "Session",
    "Supervisord",
    "Tool",
    "ToolUnavailable",
]
