"""Provides CompactList: every app on one line with inline sparklines, in columns.

With many apps the table plus one pane per process cannot fit: at 15 processes only one
pane showed. The compact layout replaces both with one line per app (a cluster is one
line, its figures summed), `name ● cpu ▂▃▅ 12% mem ▃▄▆ 212M/300M ↺3`, flowing into as
many columns as the width allows, so 50 apps fit in 25 rows of a 120x40 terminal. The
cursor works as in the table; the app switches layouts (automatically, or with `c`).
"""

from __future__ import annotations

import math
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from corral.engine.states import ProcessState
from corral.figures import size_text
from corral.tui.colours import Colours
from corral.tui.model import Board, Row
from corral.tui.spark import cpu_top, levels, memory_top, spark
from corral.tui.widgets.app_pane import fit
from corral.tui.widgets.process_table import STATUS_TEXT, _worst

CELL_MIN = 56
"""The narrowest a column may be: a name of 13, two sparklines, values uncut."""
SPARK = 8
"""Points per inline sparkline (the newest eight seconds)."""
FIXED = 1 + 1 + 1 + SPARK + 1 + 5 + 1 + SPARK + 1 + 11 + 1 + 4
"""Everything in a cell but the name: status, two sparklines with values, restarts."""
SHARE = 0.7
"""The most of the screen's height the list may take (the tail keeps the rest)."""

Piece = tuple[str, Style | None]


class CompactList(ScrollView, can_focus=True):
    """One line per app; its cursor row is the app the other widgets follow."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Details", show=False),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("left", "column(-1)", "Left", show=False),
        Binding("right", "column(1)", "Right", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"compact--header", "compact--cursor"}

    DEFAULT_CSS = """
    CompactList {
        height: auto;
        overflow-x: hidden;
        background: $surface;
        color: $foreground;
        & > .compact--header { text-style: bold; color: $text-muted; }
        & > .compact--cursor { background: $block-cursor-blurred-background; }
        &:focus > .compact--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
    }
    """

    cursor: reactive[int] = reactive(0, always_update=False, repaint=False)
    """The index of the highlighted app."""

    class RowHighlighted(Message):
        """The cursor moved to another app."""

    class RowSelected(Message):
        """Enter or a double click: open the app's details."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.colours: Colours | None = None
        self._rows: list[Row] = []
        self._cells: list[list[Piece]] = []
        self._header: list[Piece] = []
        self._per_column = 1
        self._columns = 1
        self._cell_width = CELL_MIN
        self._strips: dict[int, Strip] = {}
        self._shape: tuple[int, ...] = ()
        """What the layout depends on; a change means a layout pass."""

    # ----------------------------------------------------------------- public

    @property
    def selected(self) -> Row | None:
        """The app under the cursor, if any."""
        return self._rows[self.cursor] if 0 <= self.cursor < len(self._rows) else None

    @property
    def lines(self) -> list[str]:
        """The rows as text (header first), as drawn: for tests and copying."""
        return [self._plain(y) for y in range(self._per_column + 1)]

    def select_key(self, name: str) -> None:
        """Put the cursor on app NAME, if it is listed."""
        for index, row in enumerate(self._rows):
            if row.name == name:
                self.cursor = index

    def show(self, board: Board, colours: Colours | None) -> None:
        """Lay BOARD's apps out in columns and redraw."""
        self.colours = colours
        self._rows = [row for row in board.rows() if not row.in_group]
        count = len(self._rows)
        width = max(CELL_MIN, self.size.width or self.app.size.width - 2)
        room = max(1, int(self.app.size.height * SHARE) - 3)
        most = max(1, width // CELL_MIN)
        self._columns = max(1, min(most, math.ceil(count / room)))
        self._per_column = max(1, math.ceil(count / self._columns))
        self._cell_width = width // self._columns
        peak = board.memory_peak()
        cells = [self._cell(row, board, peak) for row in self._rows]
        shape = (count, self._columns, self._per_column, self._cell_width, width)
        self.cursor = min(self.cursor, max(0, count - 1))
        if shape != self._shape:
            # Another size: a layout pass (rare). Otherwise only the lines that changed
            # are drawn again: once a second, most cells of a steady app are the same.
            self._shape = shape
            self._cells = cells
            self._header = self._head()
            self.virtual_size = Size(width, self._per_column + 1)
            self._strips.clear()
            self.refresh(layout=True)
            return
        changed = {
            index % self._per_column + 1
            for index, (old, new) in enumerate(zip(self._cells, cells, strict=True))
            if old != new
        }
        self._cells = cells
        for line in changed:
            self._strips.pop(line, None)
            self.refresh_lines(line)

    # ----------------------------------------------------------------- drawing

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._per_column + 1

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        line = y if y == 0 else y + self.scroll_offset.y
        strip = self._strips.get(line)
        if strip is None:
            strip = self._draw_line(line, width)
            self._strips[line] = strip
        return strip

    def _draw_line(self, line: int, width: int) -> Strip:
        base = self.rich_style
        segments: list[Segment] = []
        cursor = self.get_component_rich_style("compact--cursor")
        header = self.get_component_rich_style("compact--header")
        extra: Style | None
        for column in range(self._columns):
            if line == 0:
                pieces, extra = self._header, header
            else:
                index = column * self._per_column + line - 1
                if index >= len(self._cells):
                    break
                pieces = self._cells[index]
                extra = cursor if index == self.cursor else None
            used = 0
            for text, style in pieces:
                cell_style = base + style if style else base
                segments.append(Segment(text, cell_style + extra if extra else cell_style))
                used += len(text)
            pad = self._cell_width - used
            if pad > 0:
                segments.append(Segment(" " * pad, base + extra if extra else base))
        return Strip(segments).adjust_cell_length(width, base)

    def _plain(self, line: int) -> str:
        out = []
        for column in range(self._columns):
            if line == 0:
                pieces = self._header
            else:
                index = column * self._per_column + line - 1
                if index >= len(self._cells):
                    break
                pieces = self._cells[index]
            out.append("".join(text for text, _ in pieces).ljust(self._cell_width))
        return "".join(out).rstrip()

    def _name_width(self) -> int:
        return max(8, min(32, self._cell_width - FIXED - 1))

    def _head(self) -> list[Piece]:
        name = self._name_width()
        text = f"{'app':<{name}}   {'cpu':<{SPARK + 6}} {'mem':<{SPARK + 12}} ↺"
        return [(" " + text, None)]

    def _cell(self, row: Row, board: Board, peak: float) -> list[Piece]:
        procs = [board.procs[i] for i in row.ids if i in board.procs]
        colours = self.colours
        name_width = self._name_width()
        label = f"{row.name} ×{len(procs)}" if row.group else row.name
        if len(label) > name_width:
            label = label[: name_width - 1] + "…"
        state = _worst([p.info.status for p in procs]) if procs else ProcessState.STOPPED
        symbol = STATUS_TEXT.get(state, "?")[0]
        cpu_values = [sum(v) for v in zip(*(p.cpu for p in procs), strict=False)] if procs else []
        mem_values = (
            [sum(v) for v in zip(*(p.memory for p in procs), strict=False)] if procs else []
        )
        now_cpu = [c for p in procs if (c := p.cpu_now()) is not None]
        now_mem = [m for p in procs if (m := p.memory_now()) is not None]
        spec = procs[0].info.spec if procs else None
        limit = spec.max_memory_restart if spec and not row.group else None
        cpu_text = f"{sum(now_cpu):.0f}%" if now_cpu else "-"
        mem_now = size_text(sum(now_mem)) if now_mem else "-"
        mem_text = fit([f"{mem_now}/{size_text(limit)}" if limit else mem_now, mem_now], 11)
        cpu_bars = spark(levels(cpu_values, cpu_top(cpu_values), SPARK)).rjust(SPARK)
        mem_shares = levels(mem_values, memory_top(limit, peak), SPARK)
        mem_bars = spark(mem_shares).rjust(SPARK)
        restarts = sum(p.info.restarts for p in procs)
        app_style = colours.app(row.name) if colours else None
        status_style = colours.status[state] if colours else None
        spark_style = colours.spark if colours else None
        mem_style = spark_style
        if colours and limit and mem_shares and mem_shares[-1] >= 1:
            mem_style = colours.err
        restart_style = colours.warn if colours and restarts else None
        return [
            (" ", None),
            (f"{label:<{name_width}}", app_style),
            (" ", None),
            (symbol, status_style),
            (" ", None),
            (cpu_bars, spark_style),
            (f" {cpu_text:>5}", None),
            (" ", None),
            (mem_bars, mem_style),
            (f" {mem_text:<11}", None),
            (f" ↺{restarts:<3}", restart_style),
        ]

    # ----------------------------------------------------------------- cursor

    def watch_cursor(self, old: int, new: int) -> None:
        self._strips.clear()
        self.refresh()
        self.post_message(self.RowHighlighted())

    def action_move(self, step: int) -> None:
        self.cursor = max(0, min(self.cursor + step, len(self._rows) - 1))

    def action_column(self, step: int) -> None:
        target = self.cursor + step * self._per_column
        if 0 <= target < len(self._rows):
            self.cursor = target

    def action_jump(self, index: int) -> None:
        self.cursor = index if index >= 0 else max(0, len(self._rows) - 1)

    def action_select(self) -> None:
        if self.selected is not None:
            self.post_message(self.RowSelected())

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        column = offset.x // max(1, self._cell_width)
        index = column * self._per_column + offset.y - 1 + self.scroll_offset.y
        if 0 <= index < len(self._rows):
            if index == self.cursor and event.chain >= 2:
                self.post_message(self.RowSelected())
            self.cursor = index

    def on_focus(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._strips.clear()
        self.refresh()
