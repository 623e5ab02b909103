"""Provides `spark`: a series as one row of bars on a fixed scale, and the scales themselves.

Textual's Sparkline scales each series to its own range, so a flat 9M line is drawn full
height and a flat 18M line on the floor, and a leaker at 10M of a 60M limit looks full.
Here every bar is drawn from zero: memory to the app's limit or, without a limit, to the
largest peak of any app, so two panes compare at a glance; CPU to 100 % per core the
process has used. An app with a limit gets the limit drawn as a line on the row just above
its bars (`limit_row`): a full bar touches it, a sample over the limit breaks through it.
No Textual here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

BARS = "▁▂▃▄▅▆▇█"
HIGH = 0.8
"""A bar at this share of the limit or more is drawn in the warning colour."""
LINE = "╌"
"""The memory limit, on the row above the bars (a dashed line reads as a threshold)."""


def levels(values: Sequence[float], top: float, width: int) -> list[float]:
    """The newest WIDTH values as shares of TOP (0..1, more when over); oldest first."""
    if width <= 0:
        return []
    tail = values[-width:] if len(values) > width else values
    if top <= 0:
        return [0.0 for _ in tail]
    return [max(0.0, v / top) for v in tail]


def spark(shares: Iterable[float]) -> str:
    """Shares (0..1) as bars; over 1 draws a full bar."""
    last = len(BARS) - 1
    return "".join(BARS[min(last, int(share * last + 0.5))] for share in shares)


def cpu_top(values: Iterable[float]) -> float:
    """100 % per core used: 100 for a single-threaded app, 200 once it went over 100, …"""
    peak = max(values, default=0.0)
    return 100.0 * max(1, math.ceil(peak / 100.0))


def memory_top(limit: int | None, peak: float) -> float:
    """The app's memory limit, or the largest peak of any app (PEAK) when it has none."""
    return float(limit) if limit else peak


def limit_row(shares: Iterable[float]) -> str:
    """The row above the bars of an app with a limit, for SHARES of that limit.

    The bars below fill their row at the limit, so this row starts where the limit is:
    it is the line wherever a sample stayed under it, and a bar (the part over the
    limit, one row being the limit again) wherever a sample went over.
    """
    last = len(BARS) - 1
    return "".join(
        LINE if share <= 1 else BARS[min(last, int((share - 1) * last + 0.5))] for share in shares
    )
