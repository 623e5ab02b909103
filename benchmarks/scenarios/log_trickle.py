"""Scenario 3b, log trickle: the daemon's CPU while 10 apps chat at 100 lines/s each.

Most services log steadily, a line at a time; what that costs the manager per line
(a wake-up, a read, a write) is paid all day, unlike a burst.
"""

from __future__ import annotations

import time

from benchmarks.adapters.base import Session, ToolUnavailable
from benchmarks.scenarios.base import Context, Metric, Result, Scenario
from benchmarks.scenarios.footprint import sample

APPS = 10
RATE = 100
SETTLE_S = 2.0


class LogTrickle(Scenario):
    key = "log_trickle"
    title = "Log trickle"
    needs_daemon = True
    full_rounds = 2
    metrics = (
        Metric("cpu", "log trickle: daemon CPU, 10 apps × 100 lines/s", "%", "lower", 2),
        Metric("lines", "log trickle: lines in the out logs after the window", "", "info", 0),
    )
    notes = (
        f"{APPS} apps (2 in quick mode) each write one short line {RATE} times a second, "
        "one `os.write` per line, on an absolute schedule. 2 s after every app's first "
        "line is in its log, the daemon's CPU is measured over 30 s (1 s in quick "
        "mode, after 0.5 s): the time its threads ran (`/proc/PID/task/*/schedstat`, psutil's "
        "cpu_times where unavailable) / wall time, in % of one core. The line count is "
        "for context (both tools should have written about the same). Timestamps off. "
        "2 rounds in full mode. Issue target: corral ≤ 1/3 of pm2's CPU."
    )

    def measure(self, session: Session, ctx: Context) -> Result:
        count = ctx.pick(APPS, 2)
        window = ctx.pick(30, 1)
        apps = [ctx.app(f"chat{i}", "trickle.py", str(RATE)) for i in range(count)]
        ecosystem = session.write_ecosystem(apps, ctx.workdir)
        session.boot()
        pid = session.daemon_pid()
        if pid is None:
            raise ToolUnavailable("no daemon pid file after `ping`")
        session.start(ecosystem)
        logs = [session.log_path(app.name) for app in apps]
        deadline = time.monotonic() + 60
        while not all(p.exists() and p.stat().st_size for p in logs):
            if time.monotonic() > deadline:
                raise TimeoutError("not every trickle app logged within 60 s")
            time.sleep(0.05)
        time.sleep(ctx.pick(SETTLE_S, 0.5))
        _, cpu = sample(pid, window)
        lines = sum(p.read_bytes().count(b"\n") for p in logs)
        return {"cpu": cpu, "lines": float(lines)}


SCENARIO = LogTrickle()
