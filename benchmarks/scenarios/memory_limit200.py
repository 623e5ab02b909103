"""Scenario 5b, memory limit among 200 apps: the same leak, with 200 other apps running.

A manager that samples only some apps every second (corral samples the limited ones at
1 Hz and the others every 15 s) must still catch the crossing as quickly when it has
many other processes to look after; this is the row that proves it.
"""

from __future__ import annotations

from benchmarks.adapters.base import Session
from benchmarks.scenarios.base import Context, Metric, Result, Scenario, wait_started
from benchmarks.scenarios.memory_limit import LIMIT_MB, restart_after_crossing

APPS = 200
START_TIMEOUT_S = 240.0


class MemoryLimitAmong200(Scenario):
    key = "memory_limit200"
    title = "Memory limit, 200 apps running"
    full_rounds = 2
    metrics = (
        Metric(
            "delay", "memory limit: crossing 200M to restart, 200 apps running", "s", "lower", 2
        ),
        Metric("outcome", "memory limit, 200 apps running: outcome", "", "info"),
    )
    notes = (
        f"As `memory_limit`, but {APPS} sleeper apps (5 in quick mode) with no memory "
        "limit are started first, from their own ecosystem; once every one of them wrote "
        "its start file, the growing app is started from a second ecosystem, and the "
        "crossing-to-restart time is measured the same way. 2 rounds in full mode: each "
        f"starts {APPS} interpreters."
    )

    def measure(self, session: Session, ctx: Context) -> Result:
        count, limit = ctx.pick(APPS, 5), ctx.pick(LIMIT_MB, 60)
        fleet, leak = ctx.workdir / "fleet", ctx.workdir / "leak"
        folder = fleet / "starts"
        folder.mkdir(parents=True)
        leak.mkdir()
        sleepers = [ctx.app(f"app{i:03d}", "sleeper.py", str(folder)) for i in range(count)]
        session.boot()
        session.run("start", str(session.write_ecosystem(sleepers, fleet)), timeout=START_TIMEOUT_S)
        wait_started(session, folder, count, timeout=START_TIMEOUT_S)
        starts = leak / "starts.txt"
        grower = ctx.app(
            "grower", "grower.py", str(starts), str(limit), max_memory_restart=f"{limit}M"
        )
        session.start(session.write_ecosystem([grower], leak))
        return restart_after_crossing(starts)


SCENARIO = MemoryLimitAmong200()
