"""Provides `wants_compact`: whether the process table and one pane per process fit.

The table may take up to 45 % of the height (corral.tcss) and, on a wide screen, the
panes share the body's height at five rows each. When the table would scroll, or not
even half the panes would fit (15 processes at 120x40: four), the compact list (one
line per app) shows every app instead. A few apps on a small screen keep the table and
the selected app's pane, which reads better than a list.
No Textual here: the rule is tested on its own.
"""

from __future__ import annotations

TABLE_SHARE = 0.45
"""The table's max-height in corral.tcss."""
PANE_HEIGHT = 5
CHROME = 2
"""The header line and the key bar."""


def wants_compact(rows: int, procs: int, width: int, height: int, narrow: int) -> bool:
    """True when ROWS table rows and PROCS panes do not fit a WIDTH x HEIGHT screen."""
    table_room = max(4, int(height * TABLE_SHARE) - 3)  # border and header row
    if rows > table_room:
        return True
    if width < narrow:
        return False  # narrow screens show the selected app's pane only, by design
    table = min(rows + 3, int(height * TABLE_SHARE))
    fit = (height - CHROME - table) // PANE_HEIGHT
    return fit * 2 < procs  # fewer than half the panes would fit: the list shows them all
