"""Provides ProcessTable: every process, one row each, a cluster's instances under its app.

A small table of our own rather than Textual's DataTable: DataTable renders every cell
through Rich again whenever any cell changes, and CPU and memory change every second,
which made the table the largest cost of a `monit` left open. Here a row is one strip
of pre-measured segments, rebuilt only when its text changes; cursor moves repaint two
rows. Cells are Rich Text, never markup: an app called `[red]` shows as `[red]`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from corral.engine.states import ProcessState
from corral.figures import size_text, uptime_text
from corral.tui.colours import Colours
from corral.tui.messages import Relayout
from corral.tui.model import Board, Proc, Row

STATUS_TEXT = {
    ProcessState.ONLINE: "● online",
    ProcessState.LAUNCHING: "◐ launching",
    ProcessState.STOPPING: "◑ stopping",
    ProcessState.STOPPED: "○ stopped",
    ProcessState.WAITING_RESTART: "◌ restarting",
    ProcessState.ERRORED: "✖ errored",
    ProcessState.WAITING: "◇ waiting",
    ProcessState.COMPLETED: "✔ completed",
}
"""Short enough for 80 columns; a symbol as well as a colour, for NO_COLOR terminals."""

COLUMNS = (
    ("id", "id", 3),
    ("name", "name", 16),
    ("namespace", "namespace", 10),
    ("status", "status", 12),
    ("pid", "pid", 7),
    ("cpu", "cpu", 6),
    ("memory", "mem", 6),
    ("restarts", "↺", 3),
    ("uptime", "uptime", 6),
)
NAMESPACE_MIN_WIDTH = 96
"""Below this many columns the namespace column is left out (every other one fits 80)."""
HOST_COLUMN = ("host", "host", 4)
"""Shown after the id in a fleet's table; a fleet's names are `HOST/NAME`."""
HOST_MAX_WIDTH = 20


def split_host(name: str) -> tuple[str, str]:
    """`web1/api` → (`web1`, `api`): a fleet's process names carry their host."""
    host, slash, local = name.partition("/")
    return (host, local) if slash else ("", name)


def instance_name(name: str, instance: int, last: bool, width: int) -> str:
    """`├ web:1` in WIDTH cells: a long name is shortened, never the instance's index."""
    branch, index = "└" if last else "├", f":{instance}"
    room = width - len(branch) - 1 - len(index)
    if len(name) > room:
        name = name[: max(1, room - 1)] + "…"
    return f"{branch} {name}{index}"


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


class _TableMessage(Message):
    """A message from a ProcessTable (`control` lets `@on(..., "#table")` match it)."""

    def __init__(self, table: ProcessTable) -> None:
        super().__init__()
        self.table = table

    @property
    def control(self) -> ProcessTable:
        return self.table


class ProcessTable(ScrollView, can_focus=True):
    """The process table; its cursor row is the app the other widgets follow."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Details", show=False),
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "process-table--header",
        "process-table--cursor",
    }

    DEFAULT_CSS = """
    ProcessTable {
        height: auto;
        overflow-x: hidden;
        background: $surface;
        color: $foreground;
        & > .process-table--header { text-style: bold; background: $panel; }
        & > .process-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .process-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    """The table sizes to its rows; the screen's stylesheet caps its height."""

    cursor_row: reactive[int] = reactive(0, always_update=False, repaint=False)
    """The index of the highlighted row."""

    class RowHighlighted(_TableMessage):
        """The cursor moved to another row."""

    class RowSelected(_TableMessage):
        """Enter (or a double click): open the row's details."""

    def __init__(self, *, id: str | None = None, hosts: bool = False) -> None:
        super().__init__(id=id)
        self.hosts = hosts
        """A fleet's table: a host column, and names without their `HOST/`."""
        self.colours: Colours | None = None
        """Set by the app from the theme; cells are plain until then."""
        self._keys: list[str] = []
        self._cells: dict[str, tuple[str, ...]] = {}
        self._styled_cells: dict[str, list[Text]] = {}
        self._with_namespace = True
        self._rows: dict[str, Row] = {}
        self._widths: list[int] = []
        self._strips: dict[int, Strip] = {}
        """Rendered rows by index (the header is -1); dropped when they change."""

    # ----------------------------------------------------------------- public

    @property
    def selected(self) -> Row | None:
        """The row under the cursor, if any."""
        if not self._keys or not 0 <= self.cursor_row < len(self._keys):
            return None
        return self._rows.get(self._keys[self.cursor_row])

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def row_keys(self) -> list[str]:
        """The rows' keys in display order (`id:N` for a process, `app:NAME` for a group)."""
        return list(self._keys)

    def get_cell(self, key: str, column: str) -> Text:
        """The cell of row KEY in COLUMN (a column key such as "status")."""
        return self._styled_cells[key][self._column_keys().index(column)]

    def get_row_at(self, index: int) -> list[Text]:
        """The cells of the row at INDEX, in column order."""
        return list(self._styled_cells[self._keys[index]])

    def move_cursor(self, *, row: int) -> None:
        """Put the cursor on ROW (clamped to the table)."""
        self.cursor_row = max(0, min(row, len(self._keys) - 1))

    def show(self, board: Board, now: float, *, force: bool = False) -> None:
        """Bring the table in line with BOARD (rows that did not change are not touched)."""
        rows = board.rows()
        keys = [row.key for row in rows]
        with_namespace = self.size.width == 0 or self.size.width >= NAMESPACE_MIN_WIDTH
        if force or keys != self._keys or with_namespace != self._with_namespace:
            self._rebuild(rows, board, now, with_namespace)
            return
        for index, row in enumerate(rows):
            cells = self._texts(row, board, now)
            if cells == self._cells.get(row.key):
                continue
            self._cells[row.key] = cells
            self._rows[row.key] = row
            self._styled_cells[row.key] = self._style_row(row, board, cells)
            self._strips.pop(index, None)
            self.refresh_line(index)

    def select_key(self, key: str) -> None:
        """Move the cursor to the row KEY, if it is there."""
        if key in self._keys:
            self.move_cursor(row=self._keys.index(key))

    def refresh_line(self, index: int) -> None:
        """Repaint the row at INDEX only (below the header, which is line 0)."""
        self.refresh_lines(index + 1)

    # ----------------------------------------------------------------- drawing

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._keys) + 1

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        index = -1 if y == 0 else y - 1 + self.scroll_offset.y
        strip = self._strips.get(index)
        if strip is None or strip.cell_length != width:
            strip = self._render_row(index, width)
            self._strips[index] = strip
        return strip

    def _render_row(self, index: int, width: int) -> Strip:
        base = self.rich_style
        if index == -1:
            style = base + self.get_component_rich_style("process-table--header")
            cells = [Text(label) for _, label, _ in self._columns()]
        elif 0 <= index < len(self._keys):
            style = base
            cells = self._styled_cells.get(self._keys[index], [])
        else:
            return Strip.blank(width, base)
        cursor = (
            self.get_component_rich_style("process-table--cursor")
            if index == self.cursor_row and index >= 0
            else None
        )
        segments = []
        for text, cell_width in zip(cells, self._widths, strict=False):
            cell_style = style + text.style if isinstance(text.style, Style) else style
            if cursor is not None:
                cell_style += cursor
            plain = text.plain.replace("\n", " ")
            segments.append(Segment(" " + set_cell_size(plain, cell_width) + " ", cell_style))
        fill = style + cursor if cursor is not None else style
        return Strip(segments).adjust_cell_length(width, fill)

    def _drop_strips(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_resize(self) -> None:
        # Whether the namespace column fits depends on the width: ask for a redraw
        # (rows drawn for another width are drawn again by render_line).
        self.post_message(Relayout())

    def on_focus(self) -> None:
        self._drop_strips()

    def on_blur(self) -> None:
        self._drop_strips()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    # ----------------------------------------------------------------- cursor

    def watch_cursor_row(self, old: int, new: int) -> None:
        for index in (old, new):
            self._strips.pop(index, None)
            self.refresh_line(index)
        self._scroll_to_cursor()
        self.post_message(self.RowHighlighted(self))

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def action_move(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, step: int) -> None:
        page = max(1, self.scrollable_content_region.height - 1)
        self.move_cursor(row=self.cursor_row + step * page)

    def action_jump(self, row: int) -> None:
        self.move_cursor(row=row if row >= 0 else len(self._keys) - 1)

    def action_select(self) -> None:
        if self.selected is not None:
            self.post_message(self.RowSelected(self))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        row = offset.y - 1 + self.scroll_offset.y
        if 0 <= row < len(self._keys):
            if row == self.cursor_row and event.chain >= 2:
                self.post_message(self.RowSelected(self))
            self.move_cursor(row=row)

    # ---------------------------------------------------------------- private

    def _columns(self) -> list[tuple[str, str, int]]:
        """COLUMNS as shown now: without the namespace on a narrow table, with the host in
        a fleet's."""
        shown = [c for c in COLUMNS if self._with_namespace or c[0] != "namespace"]
        return [*shown[:1], HOST_COLUMN, *shown[1:]] if self.hosts else shown

    def _column_keys(self) -> list[str]:
        return [key for key, _, _ in self._columns()]

    def _rebuild(self, rows: list[Row], board: Board, now: float, with_namespace: bool) -> None:
        selected = self.selected
        keep = selected.key if selected else None
        self._with_namespace = with_namespace
        names = [(split_host(r.name) if self.hosts else ("", r.name), r.in_group) for r in rows]
        name_width = min(
            24,
            max(
                [COLUMNS[1][2], *(len(local) + (6 if group else 2) for (_, local), group in names)]
            ),
        )
        host_width = min(HOST_MAX_WIDTH, max([HOST_COLUMN[2], *(len(h) for (h, _), _ in names)]))
        wanted = {"name": name_width, "host": host_width}
        self._widths = [wanted.get(key, width) for key, _, width in self._columns()]
        self._keys = [row.key for row in rows]
        self._rows = {row.key: row for row in rows}
        self._cells = {}
        self._styled_cells = {}
        for row in rows:
            cells = self._texts(row, board, now)
            self._cells[row.key] = cells
            self._styled_cells[row.key] = self._style_row(row, board, cells)
        self.virtual_size = Size(sum(w + 2 for w in self._widths), len(rows) + 1)
        self._drop_strips()
        self.refresh(layout=True)
        if keep is not None and keep in self._keys:
            self.select_key(keep)
        elif self.cursor_row >= len(self._keys):
            self.move_cursor(row=len(self._keys) - 1)

    def _style_row(self, row: Row, board: Board, cells: tuple[str, ...]) -> list[Text]:
        return [
            self._styled(column, text, row, board)
            for column, text in zip(self._column_keys(), cells, strict=True)
        ]

    def _texts(self, row: Row, board: Board, now: float) -> tuple[str, ...]:
        procs = [board.procs[i] for i in row.ids if i in board.procs]
        if not procs:
            return tuple("" for _ in self._column_keys())
        host, local = split_host(row.name) if self.hosts else ("", row.name)
        if row.group:
            cells = self._group_texts(local, procs)
        else:
            cells = self._process_texts(row, local, procs[0], now, self._name_width())
        cells["host"] = host
        return tuple(cells[key] for key in self._column_keys())

    def _name_width(self) -> int:
        keys = self._column_keys()
        return self._widths[keys.index("name")] if len(self._widths) == len(keys) else 24

    @staticmethod
    def _process_texts(
        row: Row, name: str, proc: Proc, now: float, name_width: int
    ) -> dict[str, str]:
        info = proc.info
        cpu, memory = proc.cpu_now(), proc.memory_now()
        if row.in_group:
            name = instance_name(name, info.instance, row.last_in_group, name_width)
        up = info.started_at is not None and info.status is ProcessState.ONLINE
        return {
            "id": str(info.id),
            "name": name,
            "namespace": info.namespace,
            "status": STATUS_TEXT.get(info.status, str(info.status)),
            "pid": str(info.pid) if info.pid else "-",
            "cpu": f"{cpu:.1f}%" if cpu is not None else "-",
            "memory": size_text(memory) if memory is not None else "-",
            "restarts": str(info.restarts),
            "uptime": uptime_text(now - (info.started_at or now)) if up else "-",
        }

    @staticmethod
    def _group_texts(name: str, procs: list[Proc]) -> dict[str, str]:
        infos = [p.info for p in procs]
        online = sum(1 for i in infos if i.status is ProcessState.ONLINE)
        cpu = _sum([p.cpu_now() for p in procs])
        memory = _sum([float(m) if (m := p.memory_now()) is not None else None for p in procs])
        return {
            "id": "",
            "name": f"▾ {name}",
            "namespace": infos[0].namespace,
            "status": f"{online}/{len(infos)} online",
            "pid": "",
            "cpu": f"{cpu:.1f}%" if cpu is not None else "-",
            "memory": size_text(memory) if memory is not None else "-",
            "restarts": str(sum(i.restarts for i in infos)),
            "uptime": "",
        }

    def _styled(self, column: str, text: str, row: Row, board: Board) -> Text:
        colours = self.colours
        if colours is None:
            return Text(text)
        if column == "status":
            if row.group:
                infos = [board.procs[i].info for i in row.ids if i in board.procs]
                worst = _worst([i.status for i in infos])
                return Text(text, style=colours.status[worst])
            info = board.procs[row.ids[0]].info if row.ids[0] in board.procs else None
            return Text(text, style=colours.status[info.status] if info else "")
        if column == "name":
            return Text(text, style=colours.muted if row.in_group else colours.app(row.name))
        if column == "host":
            return Text(text, style=colours.app(text))
        if column == "restarts" and text not in ("0", ""):
            return Text(text, style=colours.warn)
        return Text(text)


def _worst(states: list[ProcessState]) -> ProcessState:
    for state in (
        ProcessState.ERRORED,
        ProcessState.WAITING_RESTART,
        ProcessState.WAITING,
        ProcessState.STOPPING,
        ProcessState.LAUNCHING,
        ProcessState.STOPPED,
    ):
        if state in states:
            return state
    return ProcessState.ONLINE
