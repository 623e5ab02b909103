"""Scenario 6, stop: how long `stop` takes on an app that ignores the polite signals.

The app ignores SIGINT and SIGTERM and forks a grandchild that ignores them too, so the
only way out is SIGKILL after kill_timeout (1600 ms, both tools' default). A tool that
kills only the direct child leaves the grandchild behind; that shows as a survivor.
"""

from __future__ import annotations

import time

from benchmarks.adapters.base import Session
from benchmarks.procs import pid_alive, wait_until
from benchmarks.scenarios.base import WITH_SUPERVISORD, Context, Metric, Result, Scenario


class Stop(Scenario):
    key = "stop"
    title = "Stop"
    peers = WITH_SUPERVISORD
    metrics = (
        Metric("wall", "stop: wall time of `stop` (stubborn app + grandchild)", "s", "lower", 2),
        Metric("survivors", "stop: processes alive after `stop` returned", "", "lower", 0),
        Metric("state", "stop: state after `stop`", "", "info"),
    )
    notes = (
        "One app that ignores SIGINT/SIGTERM and has a grandchild that ignores them too, "
        "`kill_timeout` 1600 ms for every tool. Timed: the `stop NAME` command, from fork "
        "to exit. Survivors: of the two pids the app wrote, how many are alive (not "
        "zombies) the moment `stop` returns. The state is `jlist`'s right after. "
        "corral and pm2 send SIGINT (their default `kill_signal`), then SIGKILL after "
        "`kill_timeout`; pm2 polls every 100 ms for the end. supervisord is configured "
        "to do the same to the program's process group (`stopsignal=INT`, "
        "`stopasgroup=true`, `killasgroup=true`; with its defaults, TERM to the direct "
        "child only, the grandchild would survive), but its `stopwaitsecs` takes whole "
        "seconds, so its SIGKILL comes after 2 s, not 1.6 s: about 0.4 s of its figure "
        "is that rounding. `supervisorctl stop NAME` waits until the program is stopped; "
        "meanwhile supervisord polls for the end in a busy loop (a deferred RPC with no "
        "delay), about a full core for those 2 s."
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
