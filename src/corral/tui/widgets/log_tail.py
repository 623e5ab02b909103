"""Provides LogTail: the merged log of every app, each app's name in its own colour.

Built on Textual's `Log` (a line list with a cap, rendering only visible lines) rather
than `RichLog`, which renders every line it is given. Lines arrive already cleaned
(`logtext.clean`), in batches of one frame; the highlighter colours only the prefix of
the lines on screen, so a thousand lines a second cost a list append each.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.highlighter import Highlighter
from rich.text import Text
from textual.widgets import Log

from corral.tui.colours import Colours
from corral.tui.logtext import MARK_ERR, MARK_ERROR, MARK_INFO, MARK_WARN, split_line
from corral.tui.model import TAIL_LINES


class AppHighlighter(Highlighter):
    """Colours a tail line: dim time, the app's colour for its name, stderr marked."""

    def __init__(self) -> None:
        self.colours: Colours | None = None
        """Set by the app from the current theme; lines stay plain until then."""

    def highlight(self, text: Text) -> None:
        colours = self.colours
        if colours is None:
            return
        plain = text.plain
        parts = split_line(plain)
        if parts is None:
            return
        name_end, mark_at, mark = parts
        text.stylize(colours.stamp, 0, 8)
        bracket = plain.rfind("[", 9, name_end)
        text.stylize(
            colours.app(plain[9:bracket] if bracket > 9 else plain[9:name_end]), 9, name_end
        )
        if mark == MARK_ERR:
            text.stylize(colours.err, mark_at, mark_at + 1)
        elif mark == MARK_INFO:
            text.stylize(colours.info, mark_at)
        elif mark == MARK_WARN:
            text.stylize(colours.warn, mark_at)
        elif mark == MARK_ERROR:
            text.stylize(colours.err, mark_at)


class LogTail(Log):
    """The log tail; the app decides which lines it gets (filter, search, pause)."""

    DEFAULT_CSS = """
    LogTail { height: 1fr; overflow-x: auto; }
    """
    """Takes the room it is given; the border and title come from the app's stylesheet.
    A horizontal scrollbar only when a line is wider than the tail (Log always shows one,
    and repaints it with every batch)."""

    def __init__(self, *, max_lines: int = TAIL_LINES, id: str | None = None) -> None:
        super().__init__(highlight=True, max_lines=max_lines, auto_scroll=True, id=id)
        self.app_highlighter = AppHighlighter()
        """The highlighter, typed: the app sets its colours on mount and theme changes."""
        self.highlighter = self.app_highlighter

    def append(self, lines: list[str]) -> None:
        """Add one frame's worth of lines at the end."""
        if lines:
            self.write_lines(lines)

    def replace(self, lines: list[str]) -> None:
        """Show LINES instead of what is there (a new filter or search)."""
        self.clear()
        self.append(lines)
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def restyle(self) -> None:
        """Drop rendered lines after a colour change, so they are drawn again."""
        self._render_line_cache.clear()
        self.refresh()

    # Log measures new lines in a thread worker, one thread per write. Lines here are
    # already capped in length, so measuring them inline costs less than the thread.
    def _update_size(self, updates: int, lines: list[str]) -> None:  # type: ignore[override]
        if lines:
            self._update_maximum_width(updates, max(cell_len(line) for line in lines))
