"""Provides AppPane: one process's CPU and memory sparklines, current values and last restart.

The sparklines come full from the engine's ring of recent samples, then move once a
second. They are drawn on scales a reader can compare (spark.py): memory from zero to
the app's `max_memory_restart` (bars near it turn to the warning colour, over it to the
error colour) or to the largest app's peak; CPU from zero to 100 % per core used.
Values and reasons are never cut: words are shortened first, numbers never.
"""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label

from corral.engine.events import ProcessInfo
from corral.engine.states import ProcessState
from corral.figures import size_text
from corral.tui.colours import Colours
from corral.tui.model import Proc
from corral.tui.spark import HIGH, cpu_top, levels, memory_top, spark
from corral.tui.widgets.process_table import STATUS_TEXT

VALUE_WIDTH = 13
"""`25.6M / 60M`; longer values drop the spaces (`1023M/1024M`) rather than a digit."""

_SHORTER = (
    ("memory ", ""),
    (" > limit ", ">"),
    ("exit code ", "exit "),
    (" unstable restarts in a row", " unstable"),
    ("killed by ", ""),
)


def restart_texts(info: ProcessInfo) -> list[str]:
    """The last restart in one line, longest first: each next one fits in less room.

    `↺ 3 · crash 12:01:02 · exit code 1`, then shorter words, then no time, then the
    detail alone: the count and the detail's numbers are kept to the end.
    """
    if not info.reasons:
        return [f"↺ {info.restarts} · no restart yet", f"↺ {info.restarts}"]
    last = info.reasons[-1]
    when = time.strftime("%H:%M:%S", time.localtime(last.time))
    short = last.detail
    for long, brief in _SHORTER:
        short = short.replace(long, brief)
    head = f"↺ {info.restarts}"
    if not last.detail:
        return [f"{head} · {last.reason} {when}", f"{head} · {last.reason}", head]
    return [
        f"{head} · {last.reason} {when} · {last.detail}",
        f"{head} · {last.reason} {when} · {short}",
        f"{head} · {last.reason} · {short}",
        f"{head} · {short}",
        head,
    ]


def fit(texts: list[str], room: int) -> str:
    """The first of TEXTS that fits in ROOM cells (the last one if none does)."""
    return next((t for t in texts if len(t) <= room), texts[-1])


def memory_value(memory: int | None, limit: int | None) -> str:
    """`25.6M / 60M` (or `25.6M` without a limit), spaces dropped before any digit."""
    now = size_text(memory) if memory is not None else "-"
    if not limit:
        return now
    return fit([f"{now} / {size_text(limit)}", f"{now}/{size_text(limit)}"], VALUE_WIDTH)


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
        .spark { width: 1fr; margin: 0 1 0 0; }
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
        self._cpu = Label("", id="cpu-spark", classes="spark")
        self._memory = Label("", id="mem-spark", classes="spark")
        self._cpu_value = Label("-", id="cpu-value", classes="value")
        self._memory_value = Label("-", id="mem-value", classes="value")
        self._reason = Label("", id="reason")
        self._last: tuple[object, ...] = ()

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

    def show(self, proc: Proc, peak: float = 0.0, colours: Colours | None = None) -> None:
        """Draw PROC's latest figures; PEAK is the largest memory of any app (the shared
        scale when PROC's app has no limit)."""
        info = proc.info
        self.state = info.status
        title = f"{info.name}[{info.id}] {STATUS_TEXT.get(info.status, info.status)}"
        subtitle = f"pid {info.pid}" if info.pid else ""
        if (title, subtitle) != (self.border_title, self.border_subtitle):
            self.border_title, self.border_subtitle = title, subtitle
        limit = info.spec.max_memory_restart if info.spec else None
        width = self._cpu.size.width or 26
        cpu_levels = levels(list(proc.cpu), cpu_top(proc.cpu), width)
        memory_levels = levels(list(proc.memory), memory_top(limit, peak), width)
        cpu = proc.cpu_now()
        cpu_text = f"{cpu:.1f}%" if cpu is not None else "-"
        memory_text = memory_value(proc.memory_now(), limit)
        room = self._reason.size.width or 44
        reason = fit(restart_texts(info), room)
        shown = (cpu_levels, memory_levels, cpu_text, memory_text, reason, colours, bool(limit))
        if shown == self._last:
            return
        # Every label has a fixed size (DEFAULT_CSS): a layout pass of the whole
        # screen per update, once a second per pane, would be wasted.
        self._last = shown
        self._cpu.update(bars(cpu_levels, width, colours, limited=False), layout=False)
        self._memory.update(bars(memory_levels, width, colours, limited=bool(limit)), layout=False)
        self._cpu_value.update(cpu_text, layout=False)
        self._memory_value.update(memory_text, layout=False)
        self._reason.update(reason, layout=False)


def bars(shares: list[float], width: int, colours: Colours | None, *, limited: bool) -> Text:
    """SHARES as a right-aligned row of bars; against a limit, high bars are coloured."""
    text = Text(" " * max(0, width - len(shares)), end="")
    if colours is None:
        text.append(spark(shares))
        return text
    normal = colours.spark
    for share in shares:
        style: Style = normal
        if limited and share >= 1:
            style = colours.err
        elif limited and share >= HIGH:
            style = colours.warn
        text.append(spark([share]), style)
    return text
