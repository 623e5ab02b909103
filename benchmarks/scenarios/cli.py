"""Scenario 1, CLI: how long `jlist` and `list` take with 10 apps running.

This is what a user (or a monitoring script polling jlist) feels on every call: the
client's start-up, the round trip to the daemon and the rendering, as one wall time.
"""

from __future__ import annotations

import statistics

from benchmarks.adapters.base import Session
from benchmarks.scenarios.base import (
    WITH_SUPERVISORD,
    Context,
    Metric,
    Result,
    Scenario,
    wait_started,
)


class Cli(Scenario):
    key = "cli"
    title = "CLI"
    needs_daemon = True
    peers = WITH_SUPERVISORD
    metrics = (
        Metric("jlist", "CLI: `jlist` with 10 apps running", "ms", "lower", 0),
        Metric("list", "CLI: `list` with 10 apps running", "ms", "lower", 0),
    )
    notes = (
        "10 sleeper apps (2 in quick mode) started and running; then `jlist` and `list` "
        "alternately, 10 calls each per round (2 in quick mode) after one untimed warm-up "
        "call, output captured through a pipe. The figure is the median of the per-round "
        "medians; corral is run through its console script (`/work/venv/bin/corral`-style "
        "launcher), as a user types it. supervisord has one status verb, `supervisorctl "
        "status`, so both of its rows time that same command (run as `python -m "
        "supervisor.supervisorctl -c HOME/supervisord.conf`, what its console script "
        "does)."
    )

    def measure(self, session: Session, ctx: Context) -> Result:
        apps_n, calls = ctx.pick(10, 2), ctx.pick(10, 2)
        folder = ctx.workdir / "starts"
        folder.mkdir()
        apps = [ctx.app(f"app{i}", "sleeper.py", str(folder)) for i in range(apps_n)]
        ecosystem = session.write_ecosystem(apps, ctx.workdir)
        session.boot()
        session.start(ecosystem)
        wait_started(session, folder, apps_n)
        session.run("jlist")
        session.run("list")
        jlist, listing = [], []
        for _ in range(calls):
            jlist.append(session.timed("jlist") * 1000)
            listing.append(session.timed("list") * 1000)
        return {"jlist": statistics.median(jlist), "list": statistics.median(listing)}


SCENARIO = Cli()
