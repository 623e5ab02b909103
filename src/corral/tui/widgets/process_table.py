"""Provides ProcessTable: every process, one row each, a cluster's instances under its app.

Rows are rebuilt only when the set or order of processes changes; otherwise each
refresh rewrites just the cells whose text changed (CPU, memory, uptime), so a table of
a hundred processes costs next to nothing per second. Cells are Rich Text, never
markup: an app called `[red]` shows as `[red]`.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from corral.engine.metrics import size_text
from corral.engine.states import ProcessState
from corral.tui.colours import Colours
from corral.tui.messages import Relayout
from corral.tui.model import Board, Proc, Row

STATUS_TEXT = {
    ProcessState.ONLINE: "● online",
    ProcessState.LAUNCHING: "◐ launching",
    ProcessState.STOPPING: "◑ stopping",
    ProcessState.STOPPED: "○ stopped",
    ProcessState.WAITING_RESTART: "◌ waiting",
    ProcessState.ERRORED: "✖ errored",
}
"""Short enough for 80 columns; a symbol as well as a colour, for NO_COLOR terminals."""

COLUMNS = (
    ("id", "id", 3),
    ("name", "name", 16),
    ("namespace", "namespace", 10),
    ("status", "status", 11),
    ("pid", "pid", 7),
    ("cpu", "cpu", 6),
    ("memory", "mem", 6),
    ("restarts", "↺", 3),
    ("uptime", "uptime", 6),
)
NAMESPACE_MIN_WIDTH = 96
"""Below this many columns the namespace column is left out (every other one fits 80)."""


def uptime_text(seconds: float) -> str:
    """PM2's compact uptime: 45s, 12m, 3h, 2D."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}D"


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


class ProcessTable(DataTable[Text]):
    """The process table; its cursor row is the app the other widgets follow."""

    DEFAULT_CSS = """
    ProcessTable { height: auto; }
    """
    """The table sizes to its rows; the screen's stylesheet caps its height."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=1)
        self.colours: Colours | None = None
        """Set by the app from the theme; cells are plain until then."""
        self._keys: list[str] = []
        self._cells: dict[str, tuple[str, ...]] = {}
        self._with_namespace = True
        self._rows: dict[str, Row] = {}

    def on_resize(self) -> None:
        # Whether the namespace column fits depends on the width: ask for a redraw.
        self.post_message(Relayout())

    # ----------------------------------------------------------------- public

    @property
    def selected(self) -> Row | None:
        """The row under the cursor, if any."""
        if not self._keys or not 0 <= self.cursor_row < len(self._keys):
            return None
        return self._rows.get(self._keys[self.cursor_row])

    def show(self, board: Board, now: float, *, force: bool = False) -> None:
        """Bring the table in line with BOARD (cells that did not change are not touched)."""
        rows = board.rows()
        keys = [row.key for row in rows]
        with_namespace = self.size.width == 0 or self.size.width >= NAMESPACE_MIN_WIDTH
        if force or keys != self._keys or with_namespace != self._with_namespace:
            self._rebuild(rows, board, now, with_namespace)
            return
        for row in rows:
            cells = self._texts(row, board, now)
            before = self._cells.get(row.key)
            if cells == before:
                continue
            self._cells[row.key] = cells
            self._rows[row.key] = row
            for n, (column, text) in enumerate(zip(self._column_keys(), cells, strict=True)):
                if before is None or before[n] != text:
                    self.update_cell(row.key, column, self._styled(column, text, row, board))

    def select_key(self, key: str) -> None:
        """Move the cursor to the row KEY, if it is there."""
        if key in self._keys:
            self.move_cursor(row=self._keys.index(key))

    # ---------------------------------------------------------------- private

    def _column_keys(self) -> list[str]:
        return [key for key, _, _ in COLUMNS if self._with_namespace or key != "namespace"]

    def _rebuild(self, rows: list[Row], board: Board, now: float, with_namespace: bool) -> None:
        selected = self.selected
        keep = selected.key if selected else None
        self._with_namespace = with_namespace
        self.clear(columns=True)
        name_width = max([COLUMNS[1][2], *(len(r.name) + 2 for r in rows)])
        for key, label, width in COLUMNS:
            if key == "namespace" and not with_namespace:
                continue
            self.add_column(label, key=key, width=min(name_width, 24) if key == "name" else width)
        self._keys = [row.key for row in rows]
        self._rows = {row.key: row for row in rows}
        self._cells = {}
        for row in rows:
            cells = self._texts(row, board, now)
            self._cells[row.key] = cells
            styled = [
                self._styled(column, text, row, board)
                for column, text in zip(self._column_keys(), cells, strict=True)
            ]
            self.add_row(*styled, key=row.key)
        if keep is not None:
            self.select_key(keep)

    def _texts(self, row: Row, board: Board, now: float) -> tuple[str, ...]:
        procs = [board.procs[i] for i in row.ids if i in board.procs]
        if not procs:
            return tuple("" for _ in self._column_keys())
        if row.group:
            cells = self._group_texts(row, procs)
        else:
            cells = self._process_texts(row, procs[0], now)
        if not self._with_namespace:
            cells.pop("namespace")
        return tuple(cells.values())

    @staticmethod
    def _process_texts(row: Row, proc: Proc, now: float) -> dict[str, str]:
        info = proc.info
        cpu, memory = proc.cpu_now(), proc.memory_now()
        name = info.name
        if row.in_group:
            name = f"{'└' if row.last_in_group else '├'} {info.name}:{info.instance}"
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
    def _group_texts(row: Row, procs: list[Proc]) -> dict[str, str]:
        infos = [p.info for p in procs]
        online = sum(1 for i in infos if i.status is ProcessState.ONLINE)
        cpu = _sum([p.cpu_now() for p in procs])
        memory = _sum([float(m) if (m := p.memory_now()) is not None else None for p in procs])
        return {
            "id": "",
            "name": f"▾ {row.name}",
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
        if column == "restarts" and text not in ("0", ""):
            return Text(text, style=colours.warn)
        return Text(text)


def _worst(states: list[ProcessState]) -> ProcessState:
    for state in (
        ProcessState.ERRORED,
        ProcessState.WAITING_RESTART,
        ProcessState.STOPPING,
        ProcessState.LAUNCHING,
        ProcessState.STOPPED,
    ):
        if state in states:
            return state
    return ProcessState.ONLINE
