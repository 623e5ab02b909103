"""Provides the app-wide messages: what the event worker tells the widgets changed.

The worker updates the Board first, so a message only says *which* thing changed;
latest-value messages (metrics, host) override `can_replace`, so a backlog of them
collapses into one repaint (style D5). Messages a single widget posts are nested in it.
"""

from __future__ import annotations

from textual.message import Message

from corral.engine.events import HostSample, ProcessInfo
from corral.tui.records import LogRecord


class ProcessChanged(Message):
    """A process's state or info changed (the Board already holds the new info)."""

    def __init__(self, info: ProcessInfo) -> None:
        super().__init__()
        self.info = info


class ProcessRemoved(Message):
    """A process left the table."""

    def __init__(self, pm_id: int) -> None:
        super().__init__()
        self.pm_id = pm_id


class MetricsSampled(Message):
    """A process has a new CPU/memory sample on the Board; a queued older one is dropped."""

    def __init__(self, pm_id: int) -> None:
        super().__init__()
        self.pm_id = pm_id

    def can_replace(self, message: Message) -> bool:
        # Only a sample of the *same* process may be superseded; other panes need theirs.
        return isinstance(message, MetricsSampled) and message.pm_id == self.pm_id


class HostSampled(Message):
    """New host figures for the header; only the newest matters."""

    def __init__(self, sample: HostSample) -> None:
        super().__init__()
        self.sample = sample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, HostSampled)


class HistoryRead(Message):
    """Lines read back from a process's log files (posted from a thread worker)."""

    def __init__(self, pm_id: int, records: list[LogRecord]) -> None:
        super().__init__()
        self.pm_id = pm_id
        self.records = records


class Relayout(Message):
    """A widget changed size: what it shows may change (columns, how many panes fit)."""


class Connection(Message):
    """The event stream broke or came back (the daemon went away, or the UI lagged)."""

    def __init__(self, ok: bool, detail: str = "") -> None:
        super().__init__()
        self.ok = ok
        self.detail = detail
