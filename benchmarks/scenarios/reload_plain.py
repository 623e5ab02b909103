"""Scenario: an unmodified http.server app with 4 instances on one port, reloaded 3 times.

The app binds its own port, as most Python servers a user first tries do. corral's
cluster mode serves that bind() from one shared socket (the shim); pm2 can only fork
4 copies, of which 3 die on EADDRINUSE, and a reload of the one left refuses requests.
"""

from __future__ import annotations

import time

from benchmarks.adapters.base import Session
from benchmarks.procs import wait_until
from benchmarks.scenarios.base import Context, Metric, Result, Scenario, wait_started
from benchmarks.scenarios.reload import INSTANCES, THREADS, free_port, kinds, under_load

LABEL = "plain http.server ×4"
CYCLES = 3
PAUSE_S = 1.0
SETTLE_S = 3.0
"""After the first instance serves, time for the others to serve or to crash (pm2)."""


class ReloadPlain(Scenario):
    key = "reload_plain"
    title = "Reload under load, a plain http.server app"
    full_rounds = 3
    metrics = (
        Metric("serving", f"{LABEL}: pids answering 100 GETs before the reloads", "", "higher", 0),
        Metric("failed", f"{LABEL}: failed requests during 3 `reload`s", "", "lower", 0),
        Metric("total", f"{LABEL}: requests sent during them", "", "info", 0),
        Metric("kinds", f"{LABEL}: kinds of failure", "", "info"),
    )
    notes = (
        "`benchmarks/apps/plainweb.py`: a `ThreadingHTTPServer` that binds 127.0.0.1:PORT "
        f"itself, with `instances = {INSTANCES}` and nothing else (no `listen`, no "
        "SO_REUSEPORT, no signal handler). corral: cluster mode (a Python app with "
        "instances), whose shim serves each instance's bind() from one socket the daemon "
        "holds. pm2: 4 fork-mode copies (its cluster mode is Node-only); 3 fail on "
        "EADDRINUSE until errored. 4 client threads (1 in quick mode) send GETs from 1 s "
        "before the first `reload web` until 1 s after the 3rd (0.5 s between verbs). "
        "Failed: refused, reset, timed out or not 200. pm2's `reload` of its crash-looping "
        "copies may itself exit 1 (`Process with pid … already exists`), which does not "
        "stop the measure. 3 rounds in full mode."
    )

    def measure(self, session: Session, ctx: Context) -> Result:
        port, count, cycles = free_port(), ctx.pick(INSTANCES, 2), ctx.pick(CYCLES, 1)
        folder = ctx.workdir / "starts"
        folder.mkdir()
        app = ctx.app("web", "plainweb.py", str(port), str(folder), instances=count)
        session.boot()
        session.start(session.write_ecosystem([app], ctx.workdir))
        wait_started(session, folder, 1)
        time.sleep(SETTLE_S)  # the others come up (corral) or crash-loop (pm2)
        wait_until(lambda: all(p.status != "launching" for p in session.jlist()), 30, "settled")
        serving = len(pids_answering(port, 100))
        pause = PAUSE_S if not ctx.quick else 0.3
        threads = ctx.pick(THREADS, 1)
        reloads = under_load(session, "reload", port, cycles, pause, check=False, threads=threads)
        session.tracker.add_all(int(p.name.split(".")[0]) for p in folder.glob("*.start"))
        return {
            "serving": float(serving),
            "failed": float(reloads.failed),
            "total": float(reloads.total),
            "kinds": kinds(reloads),
        }


def pids_answering(port: int, count: int) -> set[str]:
    """The distinct pids in COUNT answers (a failed request answers nothing)."""
    import http.client

    pids: set[str] = set()
    for _ in range(count):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/")
            pids.add(conn.getresponse().read().decode())
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
    return pids


SCENARIO = ReloadPlain()
