"""Provides AppPane: one process's CPU and memory sparklines, current values and last restart.

The sparklines come full from the engine's ring of recent samples, then move once a
second. The memory line shows the limit when `max_memory_restart` is set, so a leak
heading for a restart is visible before it happens.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, Sparkline

from corral.engine.events import ProcessInfo
from corral.engine.states import ProcessState
from corral.figures import size_text
from corral.tui.model import Proc
from corral.tui.widgets.process_table import STATUS_TEXT


def restart_text(info: ProcessInfo) -> str:
    """The last restart in one line, most telling first: `↺ 3 · crash 12:01:02 · exit code 1`."""
    if not info.reasons:
        return f"↺ {info.restarts} · no restart yet"
    last = info.reasons[-1]
    when = time.strftime("%H:%M:%S", time.localtime(last.time))
    detail = f" · {last.detail}" if last.detail else ""
    return f"↺ {info.restarts} · {last.reason} {when}{detail}"


class AppPane(Widget):
    """The metrics of one process (one instance of an app)."""

    DEFAULT_CSS = """
    AppPane {
        height: 5;
        border: round $panel-lighten-2;
        border-title-color: $text;
        padding: 0 1;
        &.-errored { border: round $error; }
        &.-selected { border: round $primary; }
        Horizontal { height: 1; }
        .label { width: 4; color: $text-muted; }
        .value { width: 13; text-align: right; }
        Sparkline { width: 1fr; margin: 0 1 0 0; }
        #mem-spark > .sparkline--max-color { color: $secondary; }
        #mem-spark > .sparkline--min-color { color: $secondary 30%; }
        #reason { color: $text-muted; width: 1fr; height: 1; }
    }
    """
    """Five rows: border, CPU, memory, last restart, border; errored turns the border red."""

    state: reactive[ProcessState] = reactive(ProcessState.STOPPED)
    """The state last shown; ERRORED turns the border to the error colour."""

    def __init__(self, pm_id: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pm_id = pm_id
        """The process this pane shows."""
        # Kept as attributes: updates once a second need no DOM query.
        self._cpu = Sparkline([], id="cpu-spark")
        self._memory = Sparkline([], id="mem-spark")
        self._cpu_value = Label("-", id="cpu-value", classes="value")
        self._memory_value = Label("-", id="mem-value", classes="value")
        self._reason = Label("", id="reason")
        self._texts: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("cpu", classes="label")
            yield self._cpu
            yield self._cpu_value
        with Horizontal():
            yield Label("mem", classes="label")
            yield self._memory
            yield self._memory_value
        yield self._reason

    def watch_state(self, state: ProcessState) -> None:
        self.set_class(state is ProcessState.ERRORED, "-errored")

    def show(self, proc: Proc) -> None:
        """Draw PROC's latest figures (called when its info or metrics change)."""
        info = proc.info
        self.state = info.status
        title = f"{info.name}[{info.id}] {STATUS_TEXT.get(info.status, info.status)}"
        subtitle = f"pid {info.pid}" if info.pid else ""
        if (title, subtitle) != (self.border_title, self.border_subtitle):
            self.border_title, self.border_subtitle = title, subtitle
        # Assign new lists: reactives repaint only when the value compares different (D9).
        self._cpu.data = list(proc.cpu)
        self._memory.data = list(proc.memory)
        cpu, memory = proc.cpu_now(), proc.memory_now()
        cpu_text = f"{cpu:.1f}%" if cpu is not None else "-"
        mem_text = size_text(memory) if memory is not None else "-"
        limit = info.spec.max_memory_restart if info.spec else None
        if limit:
            mem_text = f"{mem_text} / {size_text(limit)}"
        texts = (cpu_text, mem_text, restart_text(info))
        if texts != self._texts:
            # Every label has a fixed size (DEFAULT_CSS): a layout pass of the whole
            # screen per update, once a second per pane, would be wasted.
            self._texts = texts
            self._cpu_value.update(cpu_text, layout=False)
            self._memory_value.update(mem_text, layout=False)
            self._reason.update(texts[2], layout=False)
