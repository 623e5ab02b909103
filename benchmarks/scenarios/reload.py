"""Scenario 8, reload under load: requests failed while 4 instances are reloaded 3 times.

The point of a reload is that users never notice: a request that fails during one is
the figure. A plain restart is measured too, as the count a reload should avoid.
"""

from __future__ import annotations

import socket
import time

from benchmarks.adapters.base import Session
from benchmarks.load import Load
from benchmarks.scenarios.base import Context, Metric, Result, Scenario, wait_started

INSTANCES = 4
THREADS = 4
CYCLES = 3
PAUSE_S = 1.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def under_load(
    session: Session,
    verb: str,
    port: int,
    cycles: int,
    pause: float,
    check: bool = True,
    threads: int = THREADS,
) -> Load:
    """The finished load (its counts) while VERB ran CYCLES times on the app `web`, sent
    by THREADS client threads (one in quick mode: it checks the harness, and four back to
    back were most of the test suite's benchmark smoke CPU)."""
    with Load(port, threads) as load:
        time.sleep(pause)
        for _ in range(cycles):
            session.run(verb, "web", check=check)
            time.sleep(pause / 2)
        time.sleep(pause)
    return load


def kinds(load: Load) -> str:
    """What the failures were, e.g. "ConnectionRefusedError" ("none" without any)."""
    return ", ".join(sorted(load.errors)) or "none"


class Reload(Scenario):
    key = "reload"
    title = "Reload under load"
    full_rounds = 3
    metrics = (
        Metric("reload_failed", "reload: failed requests during 3 `reload`s", "", "lower", 0),
        Metric("reload_total", "reload: requests sent during them", "", "info", 0),
        Metric("restart_failed", "reload: failed requests during 3 `restart`s", "", "lower", 0),
        Metric("restart_total", "reload: requests sent during the restarts", "", "info", 0),
        Metric("reload_kinds", "reload: kinds of failure during the reloads", "", "info"),
        Metric("restart_kinds", "reload: kinds of failure during the restarts", "", "info"),
    )
    notes = (
        f"{INSTANCES} instances of a stdlib HTTP app (`benchmarks/apps/webapp.py`, 2 in "
        f'quick mode) answering its pid. corral: `listen = "127.0.0.1:PORT"` with '
        f"`instances = {INSTANCES}`, the daemon binds once and every instance accepts on "
        "the inherited socket. pm2 cannot share a socket with a non-Node app (its "
        "cluster mode is Node-only), so its instances run in fork mode and each binds "
        "the same port with SO_REUSEPORT: the best pm2 can offer a Python app. "
        f"{THREADS} client threads on 127.0.0.1 send GETs back to back (a new connection "
        f"each, 5 s timeout) from 1 s before the first `reload web` until 1 s after the "
        f"{CYCLES}rd (0.5 s between verbs); then the same with `restart web` (1 cycle "
        "each, one client thread and 0.3 s pauses in quick mode). Failed: refused, reset, "
        "timed out or not 200. Note that "
        "corral's `reload` only waits for the replacement to start (no `wait_ready`), and "
        "pm2's `reload` of fork-mode apps is a restart one instance at a time. The "
        "request totals are context, not a throughput comparison: the window lasts as "
        "long as the verbs take. 3 rounds "
        "in full mode."
    )

    def measure(self, session: Session, ctx: Context) -> Result:
        port, count, cycles = free_port(), ctx.pick(INSTANCES, 2), ctx.pick(CYCLES, 1)
        folder = ctx.workdir / "starts"
        folder.mkdir()
        app = ctx.app(
            "web",
            "webapp.py",
            str(port),
            str(folder),
            instances=count,
            listen=f"127.0.0.1:{port}",
        )
        session.boot()
        session.start(session.write_ecosystem([app], ctx.workdir))
        wait_started(session, folder, count)
        pause = PAUSE_S if not ctx.quick else 0.3
        threads = ctx.pick(THREADS, 1)
        reloads = under_load(session, "reload", port, cycles, pause, threads=threads)
        time.sleep(pause)
        restarts = under_load(session, "restart", port, cycles, pause, threads=threads)
        session.tracker.add_all(int(p.name.split(".")[0]) for p in folder.glob("*.start"))
        return {
            "reload_failed": float(reloads.failed),
            "reload_total": float(reloads.total),
            "restart_failed": float(restarts.failed),
            "restart_total": float(restarts.total),
            "reload_kinds": kinds(reloads),
            "restart_kinds": kinds(restarts),
        }


SCENARIO = Reload()
