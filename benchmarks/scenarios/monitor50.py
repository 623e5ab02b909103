"""Scenario 9b, monitor with 50 apps: the same measures as `monitor`, five times the apps.

A monitor left open on a busy server shows many apps: corral switches to its compact
layout (one line per app with inline sparklines) when the panes do not fit. The total
log rate is the same as in `monitor` (50 apps at 20 lines/s, 10 at 100), so what changes
is the number of processes the table, the sparklines and the metrics have to follow.
"""

from __future__ import annotations

from benchmarks.scenarios.base import Metric
from benchmarks.scenarios.monitor import Monitor

APPS = 50
RATE = 20


class ManyApps(Monitor):
    key = "monitor50"
    title = "Monitor, 50 apps"
    apps = (APPS, 5)
    rate = RATE
    metrics = (
        Metric("cpu", f"monitor: CPU of `monit`, {APPS} apps × {RATE} lines/s", "%", "lower", 2),
        Metric("rss", f"monitor: RSS of `monit`, {APPS} apps", "MB", "lower", 1),
        Metric("key", f"monitor: key press to screen, {APPS} apps (median of 5)", "ms", "lower", 0),
    )
    notes = (
        f"As `monitor`, with {APPS} apps (5 in quick mode) writing {RATE} lines a second "
        "each: the same total log rate, five times the processes. corral shows them in its "
        "compact layout (one line per app), chosen automatically at 120x40."
    )


SCENARIO = ManyApps()
