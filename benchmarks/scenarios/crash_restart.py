"""Scenario 4, crash restart: how fast a tool brings back an app that exits at once.

The app appends time.time() to a file as its first act and exits 1; restart_delay is
0, so the gap between consecutive lines is the tool's whole restart path (reap, decide,
spawn) plus the interpreter's start-up, which the bare respawn loop also pays. Every run
is unstable (min_uptime 1 s), so after max_restarts both tools must settle in `errored`.
"""

from __future__ import annotations

import itertools
import statistics
import subprocess
from pathlib import Path

from benchmarks.adapters.base import Session
from benchmarks.scenarios.base import APPS, Context, Metric, Result, Scenario, wait_quiet

QUIET_S = 1.0
"""No new start for this long means the tool gave up (or hung)."""


def gaps_ms(stamps: Path) -> list[float]:
    """Start-to-start gaps in ms from the crasher's file of start times."""
    times = [float(x) for x in stamps.read_text().split()]
    return [(b - a) * 1000 for a, b in itertools.pairwise(times)]


class CrashRestart(Scenario):
    key = "crash_restart"
    title = "Crash restart"
    baseline_name = "bare respawn loop"
    min_rounds = 11
    """A round takes seconds, and on a 2-core machine whole rounds land in a slow mode
    (every gap ~10 ms longer, the bare loop's too: where the scheduler puts the new
    interpreter), so the median needs more rounds than the default five."""
    metrics = (
        Metric("gap", "crash restart: median start-to-start gap", "ms", "lower", 1, True),
        Metric("starts", "crash restart: starts before giving up", "", "info", 0),
        Metric("state", "crash restart: state reached", "", "info"),
    )
    notes = (
        "An app that appends `time.time()` to a file as its first act, then exits 1; "
        "`restart_delay` 0, `min_uptime` 1000 ms (every run is unstable), `max_restarts` "
        "50 (8 in quick mode). The figure is the median of the gaps between consecutive "
        "starts within one run; the bare loop is a Python `subprocess.Popen(...).wait()` "
        "loop over the same app, so the difference is what the manager itself adds. "
        "The state is what `jlist` says once no start has come for 1 s."
    )

    def _count(self, ctx: Context) -> int:
        return ctx.pick(50, 8)

    def measure(self, session: Session, ctx: Context) -> Result:
        stamps = ctx.workdir / "starts.txt"
        app = ctx.app(
            "crasher",
            "crasher.py",
            str(stamps),
            restart_delay=0,
            min_uptime=1000,
            max_restarts=self._count(ctx),
        )
        ecosystem = session.write_ecosystem([app], ctx.workdir)
        session.boot()
        session.start(ecosystem)
        wait_quiet(stamps, QUIET_S, timeout=120)
        gaps = gaps_ms(stamps)
        states = sorted({v.status for v in session.jlist() if v.name in ("crasher", "*")})
        return {
            "gap": statistics.median(gaps),
            "starts": float(len(gaps) + 1),
            "state": "/".join(states) or "gone",
        }

    def baseline(self, ctx: Context) -> Result:
        stamps = ctx.workdir / "starts.txt"
        count = self._count(ctx)
        subprocess.run(
            [
                ctx.python,
                str(APPS / "respawn.py"),
                str(count),
                ctx.python,
                str(APPS / "crasher.py"),
                str(stamps),
            ],
            check=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        gaps = gaps_ms(stamps)
        return {"gap": statistics.median(gaps), "starts": float(len(gaps) + 1), "state": "n/a"}


SCENARIO = CrashRestart()
