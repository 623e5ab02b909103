"""Provides LogTail: the merged log of every app, each app's name in its own colour.

A line list of our own on a ScrollView rather than Textual's `Log`: `Log` builds a Rich
Text, runs a highlighter and renders it through the console for every visible line on
every repaint (its line cache is never filled without a selection), and a tail that
follows ten chatty apps repaints a few times a second. Here a record is laid out once
(`records.layout`) into a line and a few spans, when it is first drawn (a firehose brings
hundreds of lines a redraw, of which a screenful is ever seen; only their width is
counted on arrival), and a screen row becomes a strip of three to five segments, kept by
its position until it scrolls out. Mouse selection and copying work as in `Log`, but the
text offsets they need ride only on the rows the compositor asks for under the mouse,
not on every row drawn (they cost a style per segment, and a firehose draws a new
screenful twice a second).

Following is a state, not a guess from the scroll position: while following, every
batch, resize and rebuild ends at the newest line (a scrollbar appearing, which moves
the bottom by a row, cannot leave it behind). Scrolling up is the user's way to stop;
the widget says so (`ScrolledAway`) and the app pauses the feed; reaching the bottom
again, or End, says `ReachedEnd`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len, get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Offset, Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from corral.tui.colours import Colours
from corral.tui.model import TAIL_LINES
from corral.tui.records import MARKS, STAMP_WIDTH, LogRecord, Role, Span, Stamper, layout

STRIP_CACHE = 512
"""Rendered rows kept; more than a screen, so scrolling back a page costs nothing."""
WRAP_INDENT_MAX = 40
"""A wrapped line's continuation rows start under its text, unless that is further in."""

Row = tuple[int, int, int, int]
"""A screen row: (index into the lines, first char, end char, indent in cells)."""


def line_segments(line: str, spans: list[tuple[int, int, Style]], base: Style) -> list[Segment]:
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


def line_width(record: LogRecord) -> int:
    """The cells `layout(record)`'s line takes, without laying it out (ASCII is the
    common case: its length is its width)."""
    text = record.text
    width = len(text) if text.isascii() else cell_len(text)
    if record.kind == "rule":
        return width
    who = record.who()
    mark = MARKS[record.kind]
    return (
        STAMP_WIDTH + 1 + (len(who) if who.isascii() else cell_len(who)) + 1 + len(mark) + 1 + width
    )


def wrap_cuts(line: str, width: int, indent: int) -> list[tuple[int, int]]:
    """Where LINE breaks into rows of WIDTH cells, rows after the first INDENT cells in."""
    if width <= 0 or (line.isascii() and len(line) <= width) or cell_len(line) <= width:
        return [(0, len(line))]
    indent = indent if indent <= min(WRAP_INDENT_MAX, width // 2) else 0
    cuts = []
    start, used, room = 0, 0, width
    for at, char in enumerate(line):
        size = get_character_cell_size(char)
        if used + size > room and at > start:
            cuts.append((start, at))
            start, used, room = at, 0, width - indent
        used += size
    cuts.append((start, len(line)))
    return cuts


class LogTail(ScrollView, can_focus=True):
    """The log tail; the app decides which lines it gets (filter, search, pause)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("end", "follow", "Follow", show=False),
    ]

    DEFAULT_CSS = """
    LogTail {
        height: 1fr;
        overflow-x: auto;
        background: $surface;
        color: $foreground;
        &.-wrap { overflow-x: hidden; }
    }
    """
    """Takes the room it is given; the border and title come from the app's stylesheet.
    A horizontal scrollbar only when a line is wider than the tail and lines do not wrap."""

    class ScrolledAway(Message):
        """The user scrolled up from the newest line: stop following."""

    class ReachedEnd(Message):
        """The user came back to the newest line (or pressed End): follow again."""

    def __init__(self, *, max_lines: int = TAIL_LINES, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.following = True
        """Keep the newest line in view (the app turns it off while paused)."""
        self.colours: Colours | None = None
        """Set by the app from the theme; lines stay plain until then."""
        self._records: list[LogRecord] = []
        self._laid: list[tuple[str, list[Span]] | None] = []
        """Each record's line and spans, laid out once when first needed (`_lay`)."""
        self._first = 0
        """The absolute number of `_records[0]`: lines dropped from the top so far."""
        self._stamper = Stamper()
        self._width = 0
        self._wrap = False
        self._wrap_width = 0
        self._rows: list[Row] = []
        """Screen rows while wrapping (without wrapping, row N is line N)."""
        self._moving = False
        """True while the widget scrolls itself, so it is not taken for the user."""
        self._strips: LRUCache[tuple[int, int], tuple[int, int, Strip]] = LRUCache(STRIP_CACHE)
        """(absolute line, first char) -> (scroll_x, width, strip as drawn)."""
        self._frame: tuple[Style, Offset, int, Selection | None] = (Style(), Offset(), 0, None)
        """What every row of the current repaint shares (set by `render_lines`)."""
        self._drawing = False
        """True inside `render_lines`; a `render_line` call outside it is the compositor
        looking for the text under the mouse, which needs the selection offsets."""

    # ----------------------------------------------------------------- content

    @property
    def records(self) -> Sequence[LogRecord]:
        """The records held, oldest first (read only)."""
        return self._records

    @property
    def lines(self) -> list[str]:
        """The lines held as text, oldest first (what copying gives)."""
        return [self._plain(n) for n in range(len(self._laid))]

    @property
    def line_count(self) -> int:
        return len(self._records)

    @property
    def wrap(self) -> bool:
        """Whether long lines wrap onto the next rows instead of running off the edge."""
        return self._wrap

    @wrap.setter
    def wrap(self, on: bool) -> None:
        self._wrap = on
        self.set_class(on, "-wrap")
        self.scroll_to(x=0, animate=False, immediate=True)
        self._relayout()

    def append(self, records: Sequence[LogRecord]) -> None:
        """Add one frame's worth of records at the end (the oldest go past `max_lines`)."""
        if not records:
            return
        self._records.extend(records)
        self._laid.extend([None] * len(records))
        excess = len(self._records) - self.max_lines
        if excess > 0:
            del self._records[:excess]
            del self._laid[:excess]
            self._first += excess
        self._width = max(self._width, max(line_width(record) for record in records))
        if self._wrap:
            if excess > 0:
                self._rows = self._wrapped(0)
            else:
                self._rows += self._wrapped(len(self._laid) - len(records))
        self._resize_virtual()
        self.refresh()
        if self.following:
            self.stick()

    def clear(self) -> None:
        self._first += len(self._records)
        self._records = []
        self._laid = []
        self._rows = []
        self._width = 0
        self._resize_virtual()
        self.refresh()

    def replace(self, records: Sequence[LogRecord]) -> None:
        """Show RECORDS instead of what is there (a new filter or search); while paused
        the view stays where the user scrolled it (a scroll to the end here, as the app
        redrew the tail for the pause itself, undid a PageUp still animating)."""
        self.clear()
        self.append(records)
        if self.following:
            self.stick()

    def stick(self) -> None:
        """Show the newest line now, and again after the coming layout (which may add a
        horizontal scrollbar and so move the bottom)."""
        self._to_end()
        self.call_after_refresh(self._to_end_if_following)

    def restyle(self) -> None:
        """Drop rendered rows after a colour change, so they are drawn again."""
        self._strips.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    # --------------------------------------------------------------- following

    def _to_end(self) -> None:
        end = self.max_scroll_y
        if self.scroll_y == end and self.scroll_target_y == end:
            return  # already there: no repaint
        self._moving = True
        try:
            # What scroll_end(animate=False, immediate=True) does, without building its
            # callbacks four times a second.
            self.scroll_target_y = self.scroll_y = end
        finally:
            self._moving = False

    def _to_end_if_following(self) -> None:
        if self.following:
            self._to_end()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._moving or not self.is_mounted:
            return
        if new_value >= self.max_scroll_y:
            if not self.following:
                self.post_message(self.ReachedEnd())
        elif new_value < old_value and self.following:
            self.post_message(self.ScrolledAway())

    def action_follow(self) -> None:
        """End: the newest line, and follow from there."""
        self.post_message(self.ReachedEnd())
        self._to_end()

    def on_resize(self) -> None:
        if self._wrap:
            self._relayout()
        if self.following:
            self.call_after_refresh(self._to_end_if_following)

    # ----------------------------------------------------------------- drawing

    def _relayout(self) -> None:
        self._strips.clear()
        self._rows = self._wrapped(0) if self._wrap else []
        self._resize_virtual()
        self.refresh()
        if self.following:
            self.stick()

    def _wrapped(self, start: int) -> list[Row]:
        width = self._wrap_width = max(1, self.size.width - self.styles.scrollbar_size_vertical)
        rows: list[Row] = []
        for index in range(start, len(self._laid)):
            line, spans = self._lay(index)
            indent = spans[1][1] + 3 if len(spans) > 1 and spans[1][2] == "app" else 0
            for first, end in wrap_cuts(line, width, indent):
                rows.append((index, first, end, indent if first else 0))
        return rows

    def _lay(self, index: int) -> tuple[str, list[Span]]:
        """The line and spans of record INDEX, laid out now if never before."""
        laid = self._laid[index]
        if laid is None:
            laid = self._laid[index] = layout(self._records[index], self._stamper)
        return laid

    def _resize_virtual(self) -> None:
        if self._wrap:
            self.virtual_size = Size(self._wrap_width, len(self._rows))
        else:
            self.virtual_size = Size(self._width, len(self._laid))

    def _row(self, y: int) -> Row | None:
        if self._wrap:
            return self._rows[y] if 0 <= y < len(self._rows) else None
        if 0 <= y < len(self._laid):
            return (y, 0, len(self._lay(y)[0]), 0)
        return None

    def render_lines(self, crop: Region) -> list[Strip]:
        # The style and geometry are the same for every row of one repaint, and
        # `rich_style` walks the DOM: look them up once, not once per row.
        self._frame = (self.rich_style, self.scroll_offset, self.size.width, self.text_selection)
        self._drawing = True
        try:
            return super().render_lines(crop)
        finally:
            self._drawing = False

    def render_line(self, y: int) -> Strip:
        base, (scroll_x, scroll_y), width, selection = self._frame
        row_y = scroll_y + y
        row = self._row(row_y)
        if row is None:
            return Strip.blank(width, base)
        index, first, end, indent = row
        key = (self._first + index, first)
        drawn = self._drawing and selection is None
        if drawn:
            cached = self._strips.get(key)
            if cached is not None and cached[0] == scroll_x and cached[1] == width:
                return cached[2]
        line, spans = self._lay(index)
        styled = self._styles(self._records[index], spans)
        if self._records[index].kind == "rule":
            text = f"── {line} " + "─" * max(0, width - cell_len(line) - 4)
            styled = [(0, len(text), self._style("earlier"))]
        else:
            text = line[first:end]
            styled = [
                (max(s, first) - first, min(e, end) - first, style)
                for s, e, style in styled
                if s < end and e > first
            ]
        if indent:
            text = " " * indent + text
            styled = [(s + indent, e + indent, style) for s, e, style in styled]
        span = selection.get_span(row_y) if selection is not None else None
        if span is not None:
            strip = self._selected(text, styled, base, span)
        else:
            segments = line_segments(text, styled, base)
            cells = len(text) if text.isascii() else cell_len(text)
            if drawn and scroll_x == 0 and cells <= width:
                # The common row: padded to the width as it is built, one Strip.
                if cells < width:
                    segments.append(Segment(" " * (width - cells), base))
                strip = Strip(segments, width)
                self._strips[key] = (scroll_x, width, strip)
                return strip
            strip = Strip(segments, cells)
        strip = strip.crop_extend(scroll_x, scroll_x + width, base)
        if not drawn:
            return strip.apply_offsets(scroll_x, row_y)
        self._strips[key] = (scroll_x, width, strip)
        return strip

    def _style(self, role: Role) -> Style:
        colours = self.colours
        if colours is None:
            return Style()
        return colours.role(role)

    def _styles(self, record: LogRecord, spans: list[Span]) -> list[tuple[int, int, Style]]:
        colours = self.colours
        if colours is None:
            return []
        return [
            (
                start,
                end,
                colours.app(record.app) if role == "app" and record.app else colours.role(role),
            )
            for start, end, role in spans
        ]

    def _selected(
        self, line: str, spans: list[tuple[int, int, Style]], base: Style, span: tuple[int, int]
    ) -> Strip:
        """A row with part of it selected: rare, so the general (slower) Rich path."""
        text = Text(line, style=base, no_wrap=True, end="")
        for start, end, style in spans:
            text.stylize(style, start, end)
        start, end = span
        selected = self.screen.get_component_rich_style("screen--selection")
        text.stylize(selected, start, len(line) if end == -1 else end)
        return Strip(text.render(self.app.console), cell_len(line))

    def _plain(self, index: int) -> str:
        line = self._lay(index)[0]
        return f"── {line} ──" if self._records[index].kind == "rule" else line

    # --------------------------------------------------------------- selection

    @property
    def allow_select(self) -> bool:
        return True

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text, for copying (rows as shown)."""
        if not self._wrap:
            return selection.extract("\n".join(self.lines)), "\n"
        rows = [self._lay(i)[0][first:end] for i, first, end, _ in self._rows]
        return selection.extract("\n".join(rows)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._strips.clear()
        self.refresh()
