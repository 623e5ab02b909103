"""Scenario 2, daemon footprint: the daemon's memory and CPU, idle and with 20 apps.

A daemon lives for months on a server; its resident memory and its idle CPU are a
permanent tax. Only the daemon process itself is measured, never the apps.
"""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from benchmarks.adapters.base import Session, ToolUnavailable
from benchmarks.scenarios.base import (
    WITH_SUPERVISORD,
    Context,
    Metric,
    Result,
    Scenario,
    wait_started,
)

CPU_FLOOR = 0.01
"""Below 0.01 % of a core (6 ms a minute) two daemons are equally idle."""
SETTLE_S = 2.0
"""Pause after a boot or a start, so start-up work is not counted as steady state."""


def thread_runtimes(pid: int) -> dict[int, int] | None:
    """CPU nanoseconds each thread of PID has run, from /proc/PID/task/*/schedstat.

    Nanoseconds, where psutil's cpu_times counts 10 ms ticks: an idle daemon uses a few
    ms a minute, which ticks round to zero. None where schedstat is not available.
    """
    runtimes = {}
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                runtimes[int(task.name)] = int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # the thread ended between listing and reading
    except OSError:
        return None
    return runtimes or None


def cpu_seconds(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds the threads ran between two thread_runtimes readings."""
    return sum(ns - before.get(tid, 0) for tid, ns in after.items()) / 1e9


def sample(pid: int, window_s: float) -> tuple[float, float]:
    """(RSS in MB at the end, CPU % of one core) of process PID over WINDOW_S seconds."""
    proc = psutil.Process(pid)
    fine_before, coarse_before = thread_runtimes(pid), proc.cpu_times()
    t0 = time.perf_counter()
    time.sleep(window_s)
    fine_after, coarse_after = thread_runtimes(pid), proc.cpu_times()
    elapsed = time.perf_counter() - t0
    if fine_before is not None and fine_after is not None:
        cpu = cpu_seconds(fine_before, fine_after)
    else:
        cpu = sum(coarse_after[:2]) - sum(coarse_before[:2])
    return proc.memory_info().rss / 2**20, cpu / elapsed * 100


class Footprint(Scenario):
    key = "footprint"
    title = "Daemon footprint"
    needs_daemon = True
    full_rounds = 3
    peers = WITH_SUPERVISORD
    metrics = (
        Metric("rss0", "footprint: daemon RSS, 0 apps", "MB", "lower", 1),
        Metric("cpu0", "footprint: daemon CPU, 0 apps", "%", "lower", 3, floor=CPU_FLOOR),
        Metric("rss20", "footprint: daemon RSS, 20 apps", "MB", "lower", 1),
        Metric("cpu20", "footprint: daemon CPU, 20 apps", "%", "lower", 3, floor=CPU_FLOOR),
    )
    notes = (
        "The daemon process alone (corral: `$CORRAL_HOME/daemon.pid`, pm2: "
        "`$PM2_HOME/pm2.pid`, supervisord: the `pidfile` of its config, after it "
        "daemonised and `supervisorctl pid` answered), measured with psutil: RSS at "
        "the end of the window, CPU as "
        "the time its threads ran (`/proc/PID/task/*/schedstat`, nanoseconds) / wall "
        "time over the window, in % of one core. First with no "
        "app (2 s after the boot `ping`), then with 20 sleeper apps (3 in quick mode) "
        "2 s after all of them wrote their start file. Each round's window is 30 s "
        "(3 s in quick mode), 90 s per tool and condition over 3 rounds "
        "(3, not 5, so the whole full run fits in 25 minutes): pm2's worker "
        "ticks every 30 s (`WORKER_INTERVAL`), so a shorter window, always at the same "
        "distance from the daemon's boot, would catch or miss its tick by phase. "
        "Whatever a daemon does periodically "
        "(pm2's worker, corral's sampler: every 15 s for apps with no memory limit "
        "and nobody looking, so a 30 s window holds exactly two of its passes) is part "
        "of its figure."
    )

    def measure(self, session: Session, ctx: Context) -> Result:
        apps_n = ctx.pick(20, 3)
        folder = ctx.workdir / "starts"
        folder.mkdir()
        session.boot()
        pid = session.daemon_pid()
        if pid is None:
            raise ToolUnavailable("no daemon pid file after `ping`")
        time.sleep(SETTLE_S)
        rss0, cpu0 = sample(pid, ctx.footprint_window_s)
        apps = [ctx.app(f"app{i}", "sleeper.py", str(folder)) for i in range(apps_n)]
        session.start(session.write_ecosystem(apps, ctx.workdir))
        wait_started(session, folder, apps_n)
        time.sleep(SETTLE_S)
        rss20, cpu20 = sample(pid, ctx.footprint_window_s)
        return {"rss0": rss0, "cpu0": cpu0, "rss20": rss20, "cpu20": cpu20}


SCENARIO = Footprint()
