"""Scenario 7, start: from the start command to every instance actually running.

"online" in a status table is the tool's opinion; a start time written by the app is a
fact. So the clock stops at the latest start time the 8 instances wrote, not when the
verb returns (that figure is kept too, for context).
"""

from __future__ import annotations

import time

from benchmarks.adapters.base import Session
from benchmarks.scenarios.base import Context, Metric, Result, Scenario, wait_started


class Start(Scenario):
    key = "start"
    title = "Start"
    metrics = (
        Metric("all", "start: `start` of 8 instances until all 8 are running", "ms", "lower", 0),
        Metric("verb", "start: the `start` command returns", "ms", "lower", 0),
    )
    notes = (
        "An ecosystem of one app with `instances = 8` (2 in quick mode), a sleeper that "
        "writes its start time to a file of its own. The daemon is already up (a `ping` "
        "first, untimed), so this is the steady-state start, not the daemon's boot. "
        "Timed: from just before the `start` command is issued to the latest start time "
        "written by an instance (wall clock). pm2 runs them in fork mode (it cannot "
        "cluster Python)."
    )

    def measure(self, session: Session, ctx: Context) -> Result:
        count = ctx.pick(8, 2)
        folder = ctx.workdir / "starts"
        folder.mkdir()
        app = ctx.app("sleeper", "sleeper.py", str(folder), instances=count)
        ecosystem = session.write_ecosystem([app], ctx.workdir)
        session.boot()
        t0 = time.time()
        session.start(ecosystem)
        verb = time.time() - t0
        times = wait_started(session, folder, count)
        result: Result = {"all": (max(times) - t0) * 1000}
        if session.standin is None:  # `up` does not return: its figure would mean nothing
            result["verb"] = verb * 1000
        return result


SCENARIO = Start()
