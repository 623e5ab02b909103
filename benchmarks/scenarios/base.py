"""Provides the scenario contract: what one measurement is and which figures it yields.

A scenario is one small module with one `Scenario` subclass instance named SCENARIO.
It gets a `Session` (a tool in a fresh home) and a `Context` (sizes, paths, the child
Python) and returns one value per metric; the runner does the rounds, the alternation,
the cleanup and the statistics, so a scenario only describes its own measurement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from benchmarks.adapters.base import AppDef, Session
from benchmarks.procs import wait_until

APPS = Path(__file__).resolve().parent.parent / "apps"

Value = float | str
Result = dict[str, Value]
Better = Literal["lower", "higher", "info"]


WITH_SUPERVISORD = ("pm2", "supervisord")
"""`peers` of the scenarios the issue compares supervisord on: CLI status, footprint,
log throughput and stop."""

Size = TypeVar("Size", int, float)
"""A round count or a duration, picked by mode."""


@dataclass(frozen=True, slots=True)
class Metric:
    """One row of the results table."""

    key: str
    label: str
    unit: str
    better: Better
    """Which way is better; "info" rows get no advantage (text, counts for context)."""
    digits: int = 1
    vs_baseline: bool = False
    """Add a row with corral's and pm2's excess over the bare baseline (same unit)."""
    floor: float = 0.0
    """Figures below this are noise: both are raised to it before the advantage."""


@dataclass(frozen=True, slots=True)
class Context:
    """What every measurement needs besides the session: a folder, sizes, the child Python."""

    workdir: Path
    """A fresh folder for ecosystem files and the apps' output, removed afterwards."""
    python: str
    """The interpreter the child apps run under (a plain venv: fast start-up)."""
    quick: bool
    footprint_window_s: float

    def pick(self, full: Size, quick: Size) -> Size:
        """A size or a duration: FULL normally, QUICK under --quick."""
        return quick if self.quick else full

    def app(self, name: str, script: str, *args: str, **knobs: Any) -> AppDef:
        """An AppDef running benchmarks/apps/SCRIPT under the child Python."""
        return AppDef(
            name=name,
            script=APPS / script,
            interpreter=self.python,
            args=tuple(args),
            **knobs,
        )


class Scenario:
    """Base of every scenario; subclasses set the attributes and implement `measure`."""

    key: str = ""
    title: str = ""
    metrics: tuple[Metric, ...] = ()
    needs_daemon: bool = False
    """True when it only makes sense with a daemon (CLI latency, daemon memory)."""
    peers: tuple[str, ...] = ("pm2",)
    """The tools corral is compared with here; any other tool's column is skipped with
    its `out_of_scope` reason. A peer that lacks a feature the scenario needs raises
    ToolUnavailable from its adapter instead, so the cell says what is missing."""
    baseline_name: str | None = None
    """Column title of the bare baseline, when the scenario has one."""
    notes: str = ""
    """What is measured and how, for the report (Markdown)."""
    full_rounds: int | None = None
    """At most this many rounds in a full run (slow scenarios), else the runner's count."""
    min_rounds: int | None = None
    """At least this many rounds in a full run (quick scenarios whose rounds scatter)."""

    def measure(self, session: Session, ctx: Context) -> Result:
        """Run one measurement with SESSION (a booted-or-not tool in a fresh home)."""
        raise NotImplementedError

    def baseline(self, ctx: Context) -> Result:
        """Run the bare baseline once (only when `baseline_name` is set)."""
        raise NotImplementedError


def start_files(folder: Path) -> dict[int, float]:
    """Start times written by sleeper.py instances into FOLDER, by pid."""
    times = {}
    for path in folder.glob("*.start"):
        try:
            times[int(path.name.split(".")[0])] = float(path.read_text())
        except (OSError, ValueError):
            continue  # os.replace makes a half-written file impossible; this is paranoia
    return times


def wait_started(session: Session, folder: Path, count: int, timeout: float = 60.0) -> list[float]:
    """Wait until COUNT sleepers wrote their start file in FOLDER; return their times.

    Their pids go to the session's tracker, so cleanup can kill them by pid.
    """
    wait_until(lambda: len(list(folder.glob("*.start"))) >= count, timeout, f"{count} starts")
    times = start_files(folder)
    session.tracker.add_all(times)
    return list(times.values())


def wait_quiet(path: Path, quiet_s: float, timeout: float) -> None:
    """Wait until the file PATH exists and has not grown for QUIET_S seconds."""
    deadline = time.monotonic() + timeout
    last_size, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        size = path.stat().st_size if path.exists() else -1
        now = time.monotonic()
        if size != last_size:
            last_size, last_change = size, now
        elif size > 0 and now - last_change >= quiet_s:
            return
        time.sleep(0.02)
    raise TimeoutError(f"{path.name} still growing after {timeout:.0f} s")
