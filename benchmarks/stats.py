"""Provides the summaries the report prints: median with min-max, and tallies of words.

Medians, because a shared 2-core machine throws the odd outlier that a mean would
carry into the figure; min-max, so the reader sees how noisy the run was.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Summary:
    """Median and range of one metric for one tool, or a tally for text values."""

    median: float | None
    low: float | None
    high: float | None
    count: int
    tally: str = ""
    """For text metrics: "errored ×5" or "stopped ×4, errored ×1"."""

    def cell(self, digits: int, unit: str) -> str:
        """The table cell: "26.3 ms (25.1-28.0)" (an en dash in fact), a tally, or an em dash."""
        if self.tally:
            return self.tally
        if self.median is None or self.low is None or self.high is None:
            return "—"
        suffix = f" {unit}" if unit else ""
        main = f"{self.median:.{digits}f}{suffix}"
        if self.count > 1 and self.low != self.high:
            main += f" ({self.low:.{digits}f}–{self.high:.{digits}f})"
        return main


def summarize(values: list[float | str]) -> Summary:
    """Median/min/max of the numbers in VALUES, or a tally when they are words."""
    numbers = [v for v in values if isinstance(v, float | int)]
    words = [v for v in values if isinstance(v, str)]
    if words and not numbers:
        counts = Counter(words).most_common()
        return Summary(None, None, None, len(words), ", ".join(f"{w} ×{n}" for w, n in counts))
    if not numbers:
        return Summary(None, None, None, 0)
    return Summary(statistics.median(numbers), min(numbers), max(numbers), len(numbers))


def advantage(
    corral: float | None, other: float | None, better: str, floor: float = 0.0
) -> float | None:
    """How many times better corral is than OTHER (> 1: corral better), or None.

    Lower-is-better metrics give other/corral, higher-is-better corral/other; figures
    under FLOOR (noise) count as FLOOR; a zero against a positive figure is an infinite
    advantage, two zeros a tie.
    """
    if corral is None or other is None or better not in ("lower", "higher"):
        return None
    corral, other = max(corral, floor), max(other, floor)
    num, den = (other, corral) if better == "lower" else (corral, other)
    if den == 0:
        return 1.0 if num == 0 else math.inf
    return num / den


def best(figures: Iterable[float | None], better: str) -> float | None:
    """The best of FIGURES by BETTER ("lower" or "higher"), ignoring Nones; None if none.

    The advantage is taken against this, so corral is compared with the strongest peer
    on each row rather than with one chosen tool.
    """
    numbers = [f for f in figures if f is not None]
    if not numbers or better not in ("lower", "higher"):
        return None
    return min(numbers) if better == "lower" else max(numbers)
