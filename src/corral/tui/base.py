"""Provides LiveApp: the live half of the TUI (events in, widgets redrawn once a frame).

CorralApp (app.py) adds the keys and screens on top. The app talks to a SupervisorAPI
only: the in-process engine for `corral up`, the daemon's client for `corral monit`, a
scripted fake in tests. One exclusive worker reads `api.events()` into the Feed;
widgets are redrawn at most once a frame (1/15 s), and only while something changed, so
an idle screen costs nothing; log lines wait for the tail's own, slower beat (4 Hz, 2 Hz
for a firehose), so a thousand lines a second cost two or four appends a second.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable, Coroutine
from typing import Any, Literal

from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input

from corral.config.spec import AppSpec
from corral.engine.api import BACKEND_ERRORS, SupervisorAPI
from corral.engine.events import PERSISTENCE, Event, Lifecycle
from corral.tui.colours import Colours
from corral.tui.feed import Feed
from corral.tui.history import recent_lines
from corral.tui.layout import wants_compact
from corral.tui.messages import (
    Connection,
    HistoryRead,
    HostSampled,
    MetricsSampled,
    ProcessChanged,
    ProcessRemoved,
    Relayout,
)
from corral.tui.model import Row
from corral.tui.widgets.compact import CompactList
from corral.tui.widgets.header_bar import HeaderBar
from corral.tui.widgets.key_bar import KeyBar, KeyItem
from corral.tui.widgets.log_tail import LogTail
from corral.tui.widgets.pane_area import PaneArea
from corral.tui.widgets.process_table import ProcessTable
from corral.tui.widgets.search_bar import SearchBar

FRAME_S = 1 / 15
"""Widgets are redrawn at most this often, however fast events come."""
TAIL_S = 1 / 4
"""A streaming tail is redrawn at most this often: each redraw renders every visible line
anew (a firehose replaces them all), and that rendering is most of the UI's CPU time."""
FIREHOSE_S = 1 / 2
"""When the last redraw brought more lines than the tail shows, nobody can read them as
they pass: the next one waits this long instead (the tail still shows the newest lines;
`f` pauses it to read)."""
NARROW = 100
"""Below this many columns the panes go under the table instead of beside the log."""
HISTORY_LINES = 200
"""Lines read back from each process's stdout file when it first appears."""
RETRY_S = 1.0
"""Wait before subscribing again after the stream broke (daemon restarting)."""

Source = Literal["up", "monit", "fleet"]
"""`up`: the apps live and die with this UI; `monit`: they live in the daemon; `fleet`:
they live in several hosts' daemons (a host column; names are `HOST/NAME`)."""


class Dirty(enum.Flag):
    """What the next frame redraws."""

    NONE = 0
    TABLE = enum.auto()
    """Rows whose text changed."""
    TABLE_ALL = enum.auto()
    """Every row (the theme changed: the cells' colours with it)."""
    PANES = enum.auto()
    """Which panes are shown, and all of them."""
    HEADER = enum.auto()
    TAIL = enum.auto()
    """The tail rebuilt from the store (the view changed, history came)."""


class LiveApp(App[int]):
    """The process table, the app panes and the merged log tail, kept up to date."""

    CSS_PATH = "corral.tcss"
    TITLE = "corral"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]  # noqa: RUF012 (App's type)
    """Narrow screens put the selected app's pane under the table (corral.tcss)."""

    def __init__(
        self,
        api: SupervisorAPI,
        *,
        source: Source = "monit",
        home: str = "",
        clock: Callable[[], float] = time.time,
        history_lines: int = HISTORY_LINES,
    ) -> None:
        super().__init__()
        self.api = api
        """The backend: every command and every event goes through it."""
        self.source = source
        """`up` (the apps live and die with this app) or `monit` (they live in the daemon)."""
        self.home = home
        """The corral home whose logs/ holds the apps' files (for history and details)."""
        self.clock = clock
        """Wall-clock time for uptimes; tests fix it so snapshots never move."""
        self.history_lines = history_lines
        self.feed = Feed()
        """The model: processes, metrics, stored log lines and the tail's view."""
        self.colours = Colours({})
        self._dirty = Dirty.NONE
        self._dirty_panes: set[int] = set()
        self._with_tick = Dirty.NONE
        """What waits for the 1 Hz tick's frame (the host's figures): drawn with the
        table rather than in a frame of its own."""
        self._frame_timer: Timer | None = None
        self._tail_timer: Timer | None = None
        self._tail_at = 0.0
        self._tail_wait = TAIL_S
        """TAIL_S, or FIREHOSE_S while lines come faster than anyone can read them."""
        self._selected_key: str | None = None
        self._history_queue: list[int] = []
        self._connected = True
        # The main screen's widgets, kept: `query_one` on the app searches the *current*
        # screen, which is the details or help screen while one is open.
        self.header = HeaderBar(source, id="header")
        self.table = ProcessTable(id="table", hosts=source == "fleet")
        self.panes = PaneArea(id="panes")
        self.compact = CompactList(id="compact")
        self.compact_choice: bool | None = None
        """The user's choice of layout (`c`); None: compact when panes do not fit."""
        self.compact_mode = False
        """Whether the compact list is shown instead of the table and the panes."""
        self.tail = LogTail(id="tail")
        self.search = SearchBar(id="search")
        self.keys = KeyBar(self.key_items(), id="keys")

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.table
        yield self.compact
        with Horizontal(id="body"):
            yield self.panes
            with Vertical(id="logbox"):
                yield self.tail
                yield self.search
        yield self.keys

    def key_items(self) -> list[KeyItem]:
        """The keys the bottom line offers, most used first (CorralApp has them)."""
        return []

    def on_mount(self) -> None:
        self._frame_timer = self.set_interval(FRAME_S, self._frame, pause=True)
        self.theme_changed_signal.subscribe(self, lambda _theme: self._apply_theme())
        self._apply_theme()
        self.table.border_title = "processes"
        self.compact.border_title = "processes · compact · c: panes"
        self._title_tail()
        self.set_interval(1.0, self._tick)
        self.table.focus()
        self.screen_main = self.screen
        """The main screen (the current one may be the details or help screen)."""
        self.watch(self.screen, "focused", self._focus_moved)
        self._mark(Dirty.TABLE | Dirty.PANES | Dirty.HEADER)
        self.consume()

    def _focus_moved(self, focused: Widget | None) -> None:
        self.keys.focus_changed(focused)

    @on(Relayout)
    def _relayout(self) -> None:
        self._mark(Dirty.TABLE | Dirty.PANES | Dirty.HEADER)

    def _apply_theme(self) -> None:
        colours = Colours(self.get_css_variables(), plain=self.no_color)
        colours.keep_order(self.colours)
        self.colours = colours
        self.table.colours = colours
        self.header.colours = colours
        self.panes.colours = colours
        self.compact.colours = colours
        tail = self.tail
        tail.colours = colours
        tail.restyle()
        self._mark(Dirty.TABLE_ALL | Dirty.HEADER | Dirty.PANES)

    # ------------------------------------------------------------------ events

    @work(exclusive=True, group="engine", exit_on_error=False, description="engine events")
    async def consume(self) -> None:
        """Read the event stream for as long as the app runs, subscribing again if it breaks."""
        try:
            host = await self.api.host()
        except BACKEND_ERRORS:  # the stream below reports the trouble, and retries
            host = None
        if host is not None:
            self.post_message(HostSampled(host))
        first = True
        while True:
            try:
                if not first:
                    infos = await self.api.list_processes()
                    self.feed.board.keep_only(i.id for i in infos)
                    self._mark(Dirty.TABLE | Dirty.PANES | Dirty.HEADER)
                async for event in self.api.events():
                    if not self._connected:
                        self.post_message(Connection(True))
                    self._take(event)
            except BACKEND_ERRORS as exc:  # daemon gone, stream lagged, a bad message: retry
                self.post_message(Connection(False, str(exc) or type(exc).__name__))
            first = False
            await asyncio.sleep(RETRY_S)

    def _take(self, event: Event) -> None:
        changes = self.feed.take(event)
        if isinstance(event, Lifecycle) and event.id < 0 and event.name == PERSISTENCE:
            # The daemon cannot write its state or dump: say so until it can again.
            self.header.alarm = "NOT SAVED (disk?)" if event.level == "error" else ""
            self._mark(Dirty.HEADER)
        if changes.lines:
            self._mark()
        if changes.metrics is not None:
            self.post_message(MetricsSampled(changes.metrics))
        if changes.process is not None:
            self.post_message(ProcessChanged(changes.process.info))
        if changes.new_process is not None:
            self._history_queue.append(changes.new_process)
            if len(self._history_queue) == 1:
                # The snapshot brings every process at once: read their files in one go.
                self.set_timer(0.05, self._read_history)
        if changes.removed is not None:
            self.post_message(ProcessRemoved(changes.removed))
        if changes.host is not None:
            self.post_message(HostSampled(changes.host))

    def on_process_changed(self, message: ProcessChanged) -> None:
        # "panes", not one pane: a new process may need a pane, or no longer fit the grid.
        self._mark(Dirty.TABLE | Dirty.PANES | Dirty.HEADER)

    def on_process_removed(self, message: ProcessRemoved) -> None:
        self._mark(Dirty.TABLE | Dirty.PANES | Dirty.HEADER)

    def on_metrics_sampled(self, message: MetricsSampled) -> None:
        # Samples of different processes arrive spread over the second; drawing them all
        # at the next 1 Hz tick repaints the table once a second instead of once a sample.
        self._dirty_panes.add(message.pm_id)

    def on_host_sampled(self, message: HostSampled) -> None:
        # Once a second too: with the tick's frame, which repaints the rows beside it.
        self.feed.board.host = message.sample
        self._with_tick |= Dirty.HEADER

    def on_connection(self, message: Connection) -> None:
        self._connected = message.ok
        header = self.header
        header.notice = "" if message.ok else f"stream lost ({message.detail}); retrying"
        self._mark(Dirty.HEADER)

    def on_history_read(self, message: HistoryRead) -> None:
        self.feed.logs.add_history(message.pm_id, message.records)
        self._mark(Dirty.TAIL)

    def _read_history(self) -> None:
        ids, self._history_queue = self._history_queue, []
        for pm_id in ids:
            self._fetch_metrics(pm_id)
        procs = self.feed.board.procs
        wanted = [(spec, i) for i in ids if i in procs and (spec := procs[i].info.spec)]
        if wanted and self.home and self.history_lines:
            self._read_files(wanted)

    @work(group="history", exit_on_error=False, description="metrics history")
    async def _fetch_metrics(self, pm_id: int) -> None:
        try:
            samples = await self.api.history(pm_id)
        except BACKEND_ERRORS:  # a process just deleted, a daemon gone: live points will do
            return
        proc = self.feed.board.procs.get(pm_id)
        if samples and proc is not None:
            proc.merge_history(samples)
            self.post_message(MetricsSampled(pm_id))

    @work(thread=True, group="history", exit_on_error=False, description="log history")
    def _read_files(self, wanted: list[tuple[AppSpec, int]]) -> None:
        seen: set[str] = set()
        for spec, pm_id in wanted:
            records = recent_lines(spec, pm_id, self.home, self.history_lines, seen)
            if records:
                self.post_message(HistoryRead(pm_id, records))

    # ------------------------------------------------------------------ frames

    def _mark(self, what: Dirty = Dirty.NONE) -> None:
        """Ask for a redraw of WHAT at the next frame; with nothing named, new log lines.

        Lines alone do not start the frame timer: one wake-up when the tail is next due
        draws them, so a steady trickle costs four wake-ups a second, not fifteen.
        """
        if what:
            self._dirty |= what
            if self._frame_timer is not None:
                self._frame_timer.resume()
        elif self._tail_timer is None:
            wait = self._tail_at + self._tail_wait - time.monotonic()
            self._tail_timer = self.set_timer(max(wait, FRAME_S), self._tail_due)

    def _tail_due(self) -> None:
        self._tail_timer = None
        self._frame(tail_due=True)

    def _frame(self, *, tail_due: bool = False) -> None:
        """Apply everything that changed since the last frame, then sleep until the next change."""
        dirty, self._dirty = self._dirty, Dirty.NONE
        feed = self.feed
        tail = self.tail
        now = time.monotonic()
        if Dirty.TAIL in dirty:
            tail.replace(feed.visible_lines())
            self._title_tail()
            self._tail_at = now
        elif feed.pending and (tail_due or now - self._tail_at >= self._tail_wait):
            lines = feed.take_pending()
            tail.append(lines)
            self._tail_at = now
            self._tail_wait = FIREHOSE_S if len(lines) > tail.size.height else TAIL_S
        if feed.missed and not feed.view.follow:
            self._title_tail()
        if dirty & (Dirty.TABLE | Dirty.TABLE_ALL | Dirty.PANES):
            self._choose_layout()
        table = self.table
        if dirty & (Dirty.TABLE | Dirty.TABLE_ALL):
            if self.compact_mode:
                self.compact.show(feed.board, self.colours)
            else:
                table.show(feed.board, self.clock(), force=Dirty.TABLE_ALL in dirty)
            self._selection_maybe_changed()
        panes = self.panes
        dirty_panes = True
        if self.compact_mode:
            pass  # no panes shown; the compact list redraws with the table, once a second
        elif Dirty.PANES in dirty:
            panes.show(feed.board, self._selected_ids())
        elif dirty & (Dirty.TABLE | Dirty.TABLE_ALL):
            # With the table only: in a frame of the tail's own, a pane would stretch
            # the repainted area over the whole screen.
            for pm_id in self._dirty_panes:
                panes.redraw(feed.board, pm_id)
        else:
            dirty_panes = False  # kept for the tick's frame
        if dirty_panes:
            self._dirty_panes.clear()
        if Dirty.HEADER in dirty:
            self.header.show(feed.board)
        if not self._dirty and self._frame_timer is not None:
            self._frame_timer.pause()
        if feed.pending and self._tail_timer is None:
            self._mark()  # lines that were not due yet: their own wake-up

    def _tick(self) -> None:
        """Once a second: uptimes move, and the samples of the last second are drawn."""
        with_tick, self._with_tick = self._with_tick, Dirty.NONE
        self._mark(Dirty.TABLE | with_tick)

    # --------------------------------------------------------------- selection

    def _row(self) -> Row | None:
        return self.compact.selected if self.compact_mode else self.table.selected

    def _choose_layout(self) -> None:
        """Show the compact list or the table and panes (the user's choice, else what fits)."""
        board = self.feed.board
        compact = self.compact_choice
        if compact is None:
            size = self.size
            rows, procs = len(board.rows()), len(board.procs)
            compact = wants_compact(rows, procs, size.width, size.height, NARROW)
        if compact == self.compact_mode:
            return
        row = self._row()
        self.compact_mode = compact
        self.screen_main.set_class(compact, "-compact")
        if compact:
            self.compact.show(board, self.colours)
            if row is not None:
                self.compact.select_key(row.name)
        else:
            self.table.show(board, self.clock(), force=True)
            if row is not None:
                self.table.select_key(row.key)
        if self.focused in (self.table, self.compact) or self.focused is None:
            (self.compact if compact else self.table).focus()
        self._dirty |= Dirty.TABLE | Dirty.PANES

    @on(CompactList.RowHighlighted)
    def _app_highlighted(self) -> None:
        self._selection_maybe_changed()

    def _selected_ids(self) -> tuple[int, ...]:
        row = self._row()
        return row.ids if row else ()

    @on(ProcessTable.RowHighlighted, "#table")
    def _row_highlighted(self) -> None:
        self._selection_maybe_changed()

    def _selection_maybe_changed(self) -> None:
        row = self._row()
        key = row.key if row else None
        if key == self._selected_key:
            return
        self._selected_key = key
        self._mark(Dirty.PANES)
        if self.feed.view.ids is not None:
            self.show_only(frozenset(row.ids) if row else frozenset())

    # -------------------------------------------------------------------- view

    def show_only(self, ids: frozenset[int] | None) -> None:
        """Show the lines of IDS only (None: every app's)."""
        self.feed.view.ids = ids
        self._view_changed()

    def search_for(self, query: str) -> None:
        """Show only lines containing QUERY (empty: every line)."""
        self.feed.view.query = query
        self._view_changed()

    def follow(self, on: bool) -> None:
        """Follow the newest lines, or pause (the tail keeps still; lines are counted)."""
        if self.feed.view.follow == on:
            return
        self.feed.view.follow = on
        self.tail.following = on
        self._view_changed()

    def _view_changed(self) -> None:
        self._title_tail()
        self._mark(Dirty.TAIL)

    @on(LogTail.ScrolledAway)
    def _scrolled_away(self) -> None:
        self.follow(False)

    @on(LogTail.ReachedEnd)
    def _reached_end(self) -> None:
        self.follow(True)

    def _title_tail(self) -> None:
        view = self.feed.view
        row = self._row()
        parts = ["logs", "all apps" if view.ids is None else (row.name if row else "none")]
        if view.query:
            parts.append(f"search “{view.query}”")
        if not view.follow:
            missed = f" +{self.feed.missed} new" if self.feed.missed else ""
            parts.append(f"paused{missed} (f or End: follow)")
        if self.tail.wrap:
            parts.append("wrap")
        self.tail.border_title = " · ".join(parts)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search_for(event.value)

    @on(SearchBar.Closed)
    def _search_closed(self, message: SearchBar.Closed) -> None:
        if not message.keep:
            self.search_for("")
        self.tail.focus()

    # ---------------------------------------------------------------- commands

    def report_error(self, message: str) -> None:
        """Show MESSAGE in the header and as a notification (start-up failed, …)."""
        self.header.notice = message
        self._mark(Dirty.HEADER)
        self.notify(message, title="corral", severity="error", timeout=30)

    def run_command(self, label: str, call: Coroutine[Any, Any, object]) -> None:
        """Send one command to the backend without blocking the UI; report failures."""
        self._command(label, call)

    @work(group="commands", description="command")
    async def _command(self, label: str, call: Coroutine[Any, Any, object]) -> None:
        # What a backend may raise is said and the UI stays up; anything else is a bug in
        # corral, and Textual's traceback says where.
        try:
            await call
        except LookupError as exc:
            self.notify(f"{label}: {exc}", severity="error")
        except BACKEND_ERRORS as exc:
            self.notify(f"{label} failed: {exc}", severity="error", timeout=6)
