"""Provides LogTail: the merged log of every app, each app's name in its own colour.

A line list of our own on a ScrollView rather than Textual's `Log`: `Log` builds a Rich
Text, runs a highlighter and renders it through the console for every visible line on
every repaint (its line cache is never filled without a selection), and a tail that
follows ten chatty apps repaints a few times a second. Here a line becomes a strip of
three to five segments, built from the known layout of a tail line
(`HH:MM:SS name[id] | text`) once, and kept by its absolute line number until it
scrolls out. Lines arrive already cleaned (`logtext.clean`), in batches of one frame.
Mouse selection and copying work as in `Log`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Offset, Region, Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from corral.tui.colours import Colours
from corral.tui.logtext import MARK_ERR, MARK_ERROR, MARK_INFO, MARK_WARN, split_line
from corral.tui.model import TAIL_LINES

Span = tuple[int, int, Style]

STRIP_CACHE = 512
"""Rendered lines kept; more than a screen, so scrolling back a page costs nothing."""


def line_spans(line: str, colours: Colours) -> list[Span]:
    """The coloured parts of a tail line: dim time, the app's colour, a stderr mark."""
    parts = split_line(line)
    if parts is None:
        return []
    name_end, mark_at, mark = parts
    bracket = line.rfind("[", 9, name_end)
    spans = [
        (0, 8, colours.stamp),
        (9, name_end, colours.app(line[9:bracket] if bracket > 9 else line[9:name_end])),
    ]
    if mark == MARK_ERR:
        spans.append((mark_at, mark_at + 1, colours.err))
    elif mark in (MARK_INFO, MARK_WARN, MARK_ERROR):
        style = {MARK_INFO: colours.info, MARK_WARN: colours.warn}.get(mark, colours.err)
        spans.append((mark_at, len(line), style))
    return spans


def line_segments(line: str, spans: list[Span], base: Style) -> list[Segment]:
    """LINE cut at SPANS (in order, not overlapping) into segments on the BASE style."""
    segments = []
    at = 0
    for start, end, style in spans:
        if start > at:
            segments.append(Segment(line[at:start], base))
        segments.append(Segment(line[start:end], base + style))
        at = end
    if at < len(line):
        segments.append(Segment(line[at:], base))
    return segments


class LogTail(ScrollView, can_focus=True):
    """The log tail; the app decides which lines it gets (filter, search, pause)."""

    DEFAULT_CSS = """
    LogTail {
        height: 1fr;
        overflow-x: auto;
        background: $surface;
        color: $foreground;
    }
    """
    """Takes the room it is given; the border and title come from the app's stylesheet.
    A horizontal scrollbar only when a line is wider than the tail."""

    def __init__(self, *, max_lines: int = TAIL_LINES, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.auto_scroll = True
        """Follow new lines (off while the view is paused)."""
        self.colours: Colours | None = None
        """Set by the app from the theme; lines stay plain until then."""
        self._lines: list[str] = []
        self._first = 0
        """The absolute number of `_lines[0]`: lines dropped from the top so far."""
        self._width = 0
        self._strips: LRUCache[int, tuple[int, int, Strip]] = LRUCache(STRIP_CACHE)
        """Absolute line number -> (scroll_x, width, strip as drawn)."""
        self._frame: tuple[Style, Offset, int, Selection | None] = (Style(), Offset(), 0, None)
        """What every line of the current repaint shares (set by `render_lines`)."""

    # ----------------------------------------------------------------- content

    @property
    def lines(self) -> Sequence[str]:
        """The lines held, oldest first (read only)."""
        return self._lines

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def append(self, lines: list[str]) -> None:
        """Add one frame's worth of lines at the end (the oldest go past `max_lines`)."""
        if not lines:
            return
        at_end = self.is_vertical_scroll_end
        self._lines.extend(lines)
        excess = len(self._lines) - self.max_lines
        if excess > 0:
            del self._lines[:excess]
            self._first += excess
        self._width = max(self._width, max(cell_len(line) for line in lines))
        self.virtual_size = Size(self._width, len(self._lines))
        if self.auto_scroll and at_end and not self.is_vertical_scrollbar_grabbed:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def clear(self) -> None:
        self._first += len(self._lines)
        self._lines = []
        self._width = 0
        self.virtual_size = Size(0, 0)
        self.refresh()

    def replace(self, lines: list[str]) -> None:
        """Show LINES instead of what is there (a new filter or search)."""
        self.clear()
        self.append(lines)
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def restyle(self) -> None:
        """Drop rendered lines after a colour change, so they are drawn again."""
        self._strips.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    # ----------------------------------------------------------------- drawing

    def render_lines(self, crop: Region) -> list[Strip]:
        # The style and geometry are the same for every line of one repaint, and
        # `rich_style` walks the DOM: look them up once, not once per line.
        self._frame = (self.rich_style, self.scroll_offset, self.size.width, self.text_selection)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        base, (scroll_x, scroll_y), width, selection = self._frame
        index = scroll_y + y
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, base)
        number = self._first + index
        if selection is None:
            cached = self._strips.get(number)
            if cached is not None and cached[0] == scroll_x and cached[1] == width:
                return cached[2]
        line = self._lines[index]
        spans = line_spans(line, self.colours) if self.colours is not None else []
        span = selection.get_span(index) if selection is not None else None
        if span is None:
            strip = Strip(line_segments(line, spans, base), cell_len(line))
        else:
            strip = self._selected(line, spans, base, span)
        strip = strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(scroll_x, index)
        if selection is None:
            self._strips[number] = (scroll_x, width, strip)
        return strip

    def _selected(self, line: str, spans: list[Span], base: Style, span: tuple[int, int]) -> Strip:
        """A line with part of it selected: rare, so the general (slower) Rich path."""
        text = Text(line, style=base, no_wrap=True, end="")
        for start, end, style in spans:
            text.stylize(style, start, end)
        start, end = span
        selected = self.screen.get_component_rich_style("screen--selection")
        text.stylize(selected, start, len(line) if end == -1 else end)
        return Strip(text.render(self.app.console), cell_len(line))

    # --------------------------------------------------------------- selection

    @property
    def allow_select(self) -> bool:
        return True

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text, for copying."""
        return selection.extract("\n".join(self._lines)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._strips.clear()
        self.refresh()
