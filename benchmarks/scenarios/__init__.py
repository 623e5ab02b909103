"""The scenarios, one module each; ORDER is the order of the results table.

Adding a scenario: write `benchmarks/scenarios/NAME.py` with a `SCENARIO` instance of a
`Scenario` subclass, and add NAME here.
"""

from __future__ import annotations

import importlib

from benchmarks.scenarios.base import Context, Metric, Result, Scenario

ORDER: tuple[str, ...] = (
    "cli",
    "footprint",
    "crash_restart",
    "stop",
    "start",
    "log_throughput",
    "log_plain",
    "log_stderr",
    "log_trickle",
    "memory_limit",
    "memory_limit200",
    "reload",
    "reload_plain",
    "monitor",
    "monitor50",
    "scale",
)


def load(names: tuple[str, ...] = ORDER) -> list[Scenario]:
    """The SCENARIO of each module named, in that order."""
    return [importlib.import_module(f"benchmarks.scenarios.{n}").SCENARIO for n in names]


__all__ = ["ORDER", "Context", "Metric", "Result", "Scenario", "load"]
