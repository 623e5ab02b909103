"""Scenario 6, stop: how long `stop` takes on an app that ignores the polite signals.

The app ignores SIGINT and SIGTERM and forks a grandchild that ignores them too, so the
only way out is SIGKILL after kill_timeout (1600 ms, both tools' default). A tool that
kills only the direct child leaves the grandchild behind; that shows as a survivor.
"""

from __future__ import annotations

import time

from benchmarks.adapters.base import Session
from benchmarks.procs import pid_alive, wait_until
from benchmarks.scenarios.base import Context, Metric, Result, Scenario


class Stop(Scenario):
    key = "stop"
    title = "Stop"
    metrics = (
        Metric("wall", "stop: wall time of `stop` (stubborn app + grandchild)", "s", "lower", 2),
        Metric("survivors", "stop: processes alive after `stop` returned", "", "lower", 0),
        Metric("state", "stop: state after `stop`", "", "info"),
    )
    notes = (
        "One app that ignores SIGINT/SIGTERM and has a grandchild that ignores them too, "
        "`kill_timeout` 1600 ms for both tools. Timed: the `stop NAME` command, from fork "
        "to exit. Survivors: of the two pids the app wrote, how many are alive (not "
        "zombies) the moment `stop` returns. The state is `jlist`'s right after. "
        "Both send SIGINT (their default `kill_signal`), then SIGKILL after "
        "`kill_timeout`; pm2 polls every 100 ms for the end."
    )

    def measure(self, session: Session, ctx: Context) -> Result:
        pidfile = ctx.workdir / "pids.txt"
        app = ctx.app("stubborn", "stubborn.py", str(pidfile), kill_timeout=1600)
        ecosystem = session.write_ecosystem([app], ctx.workdir)
        session.boot()
        session.start(ecosystem)
        wait_until(pidfile.exists, 30, "stubborn app's pid file")
        pids = [int(p) for p in pidfile.read_text().split()]
        session.tracker.add_all(pids)
        t0 = time.perf_counter()
        session.stop("stubborn")
        wall = time.perf_counter() - t0
        survivors = sum(pid_alive(pid) for pid in pids)
        states = sorted({v.status for v in session.jlist() if v.name in ("stubborn", "*")})
        return {"wall": wall, "survivors": float(survivors), "state": "/".join(states) or "gone"}


SCENARIO = Stop()
