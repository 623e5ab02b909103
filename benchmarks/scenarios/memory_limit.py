"""Scenario 5, memory limit: from an app crossing `max_memory_restart` to its restart.

A leaking app should be recycled before it drags the machine into swap; the figure is
how long it is allowed to stay over the limit. The app itself records when it crossed
the limit and when it started again, so no tool's opinion is involved.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.adapters.base import Session
from benchmarks.scenarios.base import Context, Metric, Result, Scenario

LIMIT_MB = 200
WAIT_S = 45.0
"""pm2 checks memory every 30 s (WORKER_INTERVAL); no restart by 45 s is a miss."""


def read_times(path: Path) -> list[float]:
    """The times in a file of one float per line (none if it does not exist yet)."""
    try:
        return [float(x) for x in path.read_text().split()]
    except (OSError, ValueError):
        return []


def restart_after_crossing(starts: Path) -> dict[str, float | str]:
    """The grower's crossing-to-restart delay, read from its STARTS file and the `.cross`
    file beside it; or the outcome when no restart came within WAIT_S."""
    crosses = starts.with_name(starts.name + ".cross")
    deadline = time.monotonic() + 30 + WAIT_S
    while time.monotonic() < deadline:
        crossed, started = read_times(crosses), read_times(starts)
        if crossed and len(started) >= 2:
            return {"delay": started[1] - crossed[0], "outcome": "restarted"}
        if crossed and time.time() - crossed[0] > WAIT_S:
            return {"outcome": f"no restart within {WAIT_S:.0f} s"}
        time.sleep(0.05)
    raise TimeoutError("the app never crossed the limit")


class MemoryLimit(Scenario):
    key = "memory_limit"
    title = "Memory limit"
    full_rounds = 2
    metrics = (
        Metric("delay", "memory limit: crossing 200M to restart", "s", "lower", 2),
        Metric("outcome", "memory limit: outcome", "", "info"),
    )
    notes = (
        f'One app growing 50 MB/s (5 MB every 0.1 s, touched), `max_memory_restart = "'
        f'{LIMIT_MB}M"` for both tools ("60M" in quick mode). The app appends '
        "its start time to a file on every start and, the first time its own RSS "
        "(/proc/self/statm, read after each step) exceeds the limit, the crossing time. "
        "Timed: crossing to the next start, both from the app's own clock (so the "
        f"interpreter's start-up, ~30 ms, is included). A tool that has not restarted "
        f"the app {WAIT_S:.0f} s after the crossing gets no figure for the round (the "
        "outcome row says so); pm2 checks memory every 30 s (`WORKER_INTERVAL`), so its "
        "delay depends on the phase of that tick. 2 rounds in full mode."
    )

    def measure(self, session: Session, ctx: Context) -> Result:
        limit = ctx.pick(LIMIT_MB, 60)
        starts = ctx.workdir / "starts.txt"
        app = ctx.app(
            "grower", "grower.py", str(starts), str(limit), max_memory_restart=f"{limit}M"
        )
        ecosystem = session.write_ecosystem([app], ctx.workdir)
        session.boot()
        session.start(ecosystem)
        return restart_after_crossing(starts)


SCENARIO = MemoryLimit()
