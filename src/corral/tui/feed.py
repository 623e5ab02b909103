"""Provides Feed: turns engine events into Board and LogStore updates and tail lines.

The app's event worker hands every event to `Feed.take`; the feed updates the model,
keeps the lines the tail should show in `pending`, and answers what changed, so the app
knows which messages to post. No Textual here: the routing is tested without a screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from corral.engine.events import (
    Event,
    HostSample,
    Lagged,
    Lifecycle,
    LogLines,
    MetricsSample,
    ProbeChecked,
    Removed,
    StateChanged,
)
from corral.tui.logtext import clean
from corral.tui.model import SYSTEM_ID, TAIL_LINES, Board, LogStore
from corral.tui.records import Kind, LogRecord


@dataclass(slots=True)
class Changes:
    """What one event changed (each flag asks for one kind of repaint)."""

    new_process: int | None = None
    process: StateChanged | None = None
    removed: int | None = None
    metrics: int | None = None
    host: HostSample | None = None
    lines: int = 0


@dataclass(slots=True)
class View:
    """Which lines the tail shows: every app's or some processes', matching a search."""

    ids: frozenset[int] | None = None
    """None: every process; else only these (and corral's own messages)."""
    query: str = ""
    """Case-insensitive text a line must contain; empty: every line."""
    follow: bool = True
    """False while paused: lines are kept in the store but not handed to the tail."""

    def shows(self, pm_id: int) -> bool:
        """Whether lines of PM_ID belong in the tail."""
        return self.ids is None or pm_id in self.ids or pm_id == SYSTEM_ID


@dataclass
class Feed:
    """The model plus the lines waiting for the next frame."""

    board: Board = field(default_factory=Board)
    logs: LogStore = field(default_factory=LogStore)
    view: View = field(default_factory=View)
    pending: list[LogRecord] = field(default_factory=list)
    """Lines for the tail at the next frame (bounded by what the tail can hold)."""
    missed: int = 0
    """Lines that matched the view while paused (shown as `+N` in the tail's title)."""

    def take(self, event: Event) -> Changes:
        """Apply EVENT to the model; returns what changed."""
        changes = Changes()
        match event:
            case LogLines():
                kind: Kind = "err" if event.stream == "err" else "out"
                name, pm_id, ts = event.name, event.id, event.ts
                records = [LogRecord(ts, name, pm_id, kind, clean(t)) for t in event.texts()]
                changes.lines = self._add(pm_id, records)
            case MetricsSample():
                if self.board.sample(event):
                    changes.metrics = event.id
            case StateChanged():
                if self.board.update(event.info):
                    changes.new_process = event.info.id
                changes.process = event
            case Lifecycle():
                level: Kind = event.level if event.level in ("warn", "error") else "info"
                own = event.id >= 0
                record = LogRecord(
                    event.ts,
                    event.name if own else "",
                    event.id if own else None,
                    level,
                    clean(event.message),
                )
                changes.lines = self._add(event.id if own else SYSTEM_ID, [record])
            case Lagged():  # the daemon dropped events this slow reader could not take
                record = LogRecord(event.ts, "", None, "warn", event.message)
                changes.lines = self._add(SYSTEM_ID, [record])
            case Removed():
                self.board.remove(event.id)
                self.logs.forget(event.id)  # bounded over any number of create/delete
                changes.removed = event.id
            case HostSample():
                self.board.host = event
                changes.host = event
            case ProbeChecked():
                proc = self.board.procs.get(event.id)
                if proc is not None:  # repainted as a state change of that process
                    probe = {**proc.info.probe, event.status.probe: event.status}
                    proc.info = replace(proc.info, probe=probe)
                    changes.process = StateChanged(proc.info, event.ts)
        return changes

    def _add(self, pm_id: int, records: list[LogRecord]) -> int:
        self.logs.add(pm_id, records)
        view = self.view
        if not view.shows(pm_id):
            return 0
        if view.query:
            needle = view.query.lower()
            records = [record for record in records if record.matches(needle)]
        if not view.follow:
            self.missed += len(records)
            return 0
        self.pending.extend(records)
        if len(self.pending) > TAIL_LINES:
            del self.pending[:-TAIL_LINES]
        return len(records)

    def take_pending(self) -> list[LogRecord]:
        """The lines for this frame (and none left waiting)."""
        lines, self.pending = self.pending, []
        return lines

    def visible_lines(self) -> list[LogRecord]:
        """Every stored line the view shows, for a tail rebuilt after the view changed."""
        self.pending = []
        self.missed = 0
        return self.logs.view(self.view.ids, self.view.query, TAIL_LINES)
