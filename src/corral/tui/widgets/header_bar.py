"""Provides HeaderBar: one line with the mode, the process counts and the host's load.

A plain Static updated when its text changes: host figures come once a second, and the
counts only when a process changes state.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from corral.engine.events import HostSample
from corral.engine.states import ProcessState
from corral.figures import size_text
from corral.tui.colours import Colours
from corral.tui.model import Board

HEADER_STATES = (
    ProcessState.ONLINE,
    ProcessState.LAUNCHING,
    ProcessState.STOPPING,
    ProcessState.WAITING_RESTART,
    ProcessState.WAITING,
    ProcessState.COMPLETED,
    ProcessState.STOPPED,
    ProcessState.ERRORED,
)
"""Every state, in the order a reader checks them; a state with no process is left out."""


def host_text(host: HostSample | None, room: int = 80) -> str:
    """`host cpu 12% · mem 3.1G/15.6G · load 0.52 0.48 0.41`, shortened to fit ROOM."""
    if host is None:
        return "host -"
    cpu = f"{host.cpu:.0f}%" if host.cpu is not None else "-"
    load = " ".join(f"{value:.2f}" for value in host.load)
    memory = f"{size_text(host.mem_used)}/{size_text(host.mem_total)}"
    for text in (
        f"host cpu {cpu} · mem {memory} · load {load}",
        f"cpu {cpu} · mem {memory} · load {host.load[0]:.2f}",
        f"cpu {cpu} · mem {memory}",
        f"cpu {cpu}",
    ):
        if len(text) <= room:
            return text
    return ""


class HeaderBar(Static):
    """The top line: what corral is attached to, how the apps are doing, the host."""

    DEFAULT_CSS = """
    HeaderBar {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """
    """One row on the panel colour, like Textual's own Header."""

    def __init__(self, source: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        """`up` or `monit`: which backend the app is attached to."""
        self.colours: Colours | None = None
        self.notice = ""
        """A temporary state shown in the middle (the daemon went away, stopping…)."""
        self.alarm = ""
        """Shown in the error colour while set: the daemon cannot save its list."""
        self._last: Text | None = None
        self._board: Board | None = None

    def on_resize(self) -> None:
        # The host figures sit at the right edge: a header drawn before its width was
        # known (the first frame) must be laid out again once it is.
        if self._board is not None:
            self.show(self._board)

    def show(self, board: Board) -> None:
        """Redraw if anything visible changed."""
        self._board = board
        counts = board.counts()
        text = Text()
        text.append("corral", style="bold")
        text.append(f" {self.source}", style=self.colours.muted if self.colours else "")
        text.append(f" · {len(board.procs)} procs")
        for state in HEADER_STATES:
            if counts.get(state):
                style = self.colours.status[state] if self.colours else ""
                text.append(" ")
                text.append(f"{counts[state]} {state.value.split()[0]}", style=style)
        if self.notice:
            text.append(" · ")
            text.append(self.notice, style=self.colours.warn if self.colours else "bold")
        if self.alarm:
            text.append(" · ")
            text.append(self.alarm, style=self.colours.err if self.colours else "bold red")
        host = host_text(board.host, self.size.width - 3 - text.cell_len)
        gap = max(1, self.size.width - 2 - text.cell_len - len(host))
        text.append(" " * gap)
        text.append(host, style=self.colours.muted if self.colours else "")
        if text != self._last:
            self._last = text
            self.update(text, layout=False)  # one row, always: no layout pass needed
