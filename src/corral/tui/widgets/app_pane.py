"""Provides AppPane: one process's CPU and memory sparklines, current values and last restart.

The sparklines come full from the engine's ring of recent samples, then move once a
second. They are drawn on scales a reader can compare (spark.py): memory from zero to
the app's `max_memory_restart` or to the largest app's peak; CPU from zero to 100 % per
core used. An app with a limit gets one more row, the limit drawn as a line just above
its memory bars and labelled `limit 60M`: a leaker climbs towards it in plain sight (bars
near it turn to the warning colour, over it to the error colour and through the line).
When that row would cost a pane its place on screen, the pane keeps five rows and says
`25.6M / 60M` instead (the colours stay). Values and reasons are never cut: words are
shortened first, numbers never.
"""

from __future__ import annotations

import itertools
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
from corral.tui.spark import HIGH, cpu_top, levels, limit_row, memory_top, spark
from corral.tui.widgets.process_table import STATUS_TEXT

VALUE_WIDTH = 13
"""`limit 1023M`, `100.0%`: the widest value a pane shows, uncut."""
HEIGHT = 5
"""Border, CPU, memory, last restart, border."""
LIMITED_HEIGHT = HEIGHT + 1
"""An app with a memory limit has the limit's row above its memory bars."""

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
    live = info.spec.liveness_probe if info.spec else None
    if last.reason == "liveness" and live is not None:  # "timed out after 1s"
        short = short.removeprefix(live.what).lstrip(": ")
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


def probe_texts(info: ProcessInfo) -> list[str]:
    """A probe that failed last, longest first (it matters more than the last restart):
    `✖ liveness 2/3 · GET http://…/health timed out after 1s`; [] when none did."""
    spec = info.spec
    for name in ("liveness", "readiness"):
        status = info.probe.get(name)
        if status is None or not status.failures or not status.running:
            continue
        probe = getattr(spec, f"{name}_probe", None)
        # Liveness failures count toward a restart (2/3); readiness ones only delay `online`.
        head = f"✖ {name} {status.failures} failed"
        if name == "liveness" and probe is not None:
            head = f"✖ {name} {status.failures}/{probe.failure_threshold}"
        error = status.last_error or ""
        short = error
        if probe is not None:
            short = error.removeprefix(probe.what).lstrip(": ")  # "timed out after 1s"
        return [f"{head} · {error}", f"{head} · {short}", head]
    return []


def fit(texts: list[str], room: int) -> str:
    """The first of TEXTS that fits in ROOM cells (the last one if none does)."""
    return next((t for t in texts if len(t) <= room), texts[-1])


def memory_value(memory: int | None, limit: int | None) -> str:
    """`25.6M / 60M` (or `25.6M` without a limit), spaces dropped before any digit."""
    now = size_text(memory) if memory is not None else "-"
    if not limit:
        return now
    return fit([f"{now} / {size_text(limit)}", f"{now}/{size_text(limit)}"], VALUE_WIDTH)


def limit_text(limit: int) -> str:
    """`limit 60M`, the label of the limit's line; `lim` only if a limit were that long."""
    return fit([f"limit {size_text(limit)}", f"lim {size_text(limit)}"], VALUE_WIDTH)


def memory_limit(info: ProcessInfo) -> int | None:
    """The process's `max_memory_restart` in bytes, None when it has none."""
    return (info.spec.max_memory_restart if info.spec else None) or None


def pane_height(info: ProcessInfo, *, tall: bool = True) -> int:
    """Rows INFO's pane takes: one more when there is a limit to draw (and TALL panes fit)."""
    return LIMITED_HEIGHT if tall and memory_limit(info) else HEIGHT


class AppPane(Widget):
    """The metrics of one process (one instance of an app)."""

    DEFAULT_CSS = """
    AppPane {
        height: 5;
        &.-limited { height: 6; }
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
        #limit-row { display: none; }
        &.-limited #limit-row { display: block; }
        #limit-value { color: $text-muted; }
    }
    """
    """Five rows: border, CPU, memory, last restart, border; six with the limit's row.
    Errored turns the border red."""

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
        self._limit = Label("", id="limit-line", classes="spark")
        self._limit_value = Label("", id="limit-value", classes="value")
        self._reason = Label("", id="reason")
        self._last: dict[Label, object] = {}
        """What each label was last drawn from."""

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label("cpu", classes="label")
            yield self._cpu
            yield self._cpu_value
        with Horizontal(id="limit-row"):
            yield Label("", classes="label")
            yield self._limit
            yield self._limit_value
        with Horizontal():
            yield Label("mem", classes="label")
            yield self._memory
            yield self._memory_value
        yield self._reason

    def watch_state(self, state: ProcessState) -> None:
        self.set_class(state is ProcessState.ERRORED, "-errored")

    def show(
        self,
        proc: Proc,
        peak: float = 0.0,
        colours: Colours | None = None,
        *,
        tall: bool = True,
    ) -> None:
        """Draw PROC's latest figures; PEAK is the largest memory of any app (the shared
        scale when PROC's app has no limit). TALL: there is room for the limit's row."""
        info = proc.info
        self.state = info.status
        title = f"{info.name}[{info.id}] {STATUS_TEXT.get(info.status, info.status)}"
        subtitle = f"pid {info.pid}" if info.pid else ""
        if (title, subtitle) != (self.border_title, self.border_subtitle):
            self.border_title, self.border_subtitle = title, subtitle
        limit = memory_limit(info)
        width = self._cpu.size.width or 26
        cpu_levels = levels(list(proc.cpu), cpu_top(proc.cpu), width)
        memory_levels = levels(list(proc.memory), memory_top(limit, peak), width)
        cpu = proc.cpu_now()
        cpu_text = f"{cpu:.1f}%" if cpu is not None else "-"
        line_row = bool(limit) and tall
        memory_text = memory_value(proc.memory_now(), None if line_row else limit)
        room = self._reason.size.width or 44
        if info.status is ProcessState.WAITING and info.waiting_for:
            wants = ", ".join(info.waiting_for)  # what it waits for, shortened if need be
            reason = fit([f"waiting: {wants}", f"waiting: {info.waiting_for[0]}", "waiting"], room)
        else:
            reason = fit(probe_texts(info) or restart_texts(info), room)
        self.set_class(line_row, "-limited")  # a row more: a layout, once
        # Only the labels whose content changed are updated (a value or a reason often
        # stays the same for minutes), each without a layout: every label has a fixed
        # size (DEFAULT_CSS), and a layout pass of the screen per update would be wasted.
        cpu_bars = (cpu_levels, width, colours)
        memory_bars = (memory_levels, width, colours, bool(limit))
        if self._changed(self._cpu, cpu_bars):
            self._cpu.update(bars(cpu_levels, width, colours, limited=False), layout=False)
        if self._changed(self._memory, memory_bars):
            self._memory.update(
                bars(memory_levels, width, colours, limited=bool(limit)), layout=False
            )
        if self._changed(self._cpu_value, cpu_text):
            self._cpu_value.update(cpu_text, layout=False)
        if self._changed(self._memory_value, memory_text):
            self._memory_value.update(memory_text, layout=False)
        if line_row and limit:
            if self._changed(self._limit, memory_bars):
                self._limit.update(line(memory_levels, width, colours), layout=False)
            if self._changed(self._limit_value, limit):
                self._limit_value.update(limit_text(limit), layout=False)
        if self._changed(self._reason, reason):
            self._reason.update(reason, layout=False)

    def _changed(self, label: Label, shown: object) -> bool:
        """Whether LABEL is to show something else than SHOWN (remembered if so)."""
        if self._last.get(label) == shown:
            return False
        self._last[label] = shown
        return True


def bars(shares: list[float], width: int, colours: Colours | None, *, limited: bool) -> Text:
    """SHARES as a right-aligned row of bars; against a limit, high bars are coloured."""
    text = Text(" " * max(0, width - len(shares)), end="")
    if colours is None:
        text.append(spark(shares))
        return text
    normal = colours.spark
    styles: list[Style] = [normal] * len(shares)
    if limited:
        for n, share in enumerate(shares):
            if share >= 1:
                styles[n] = colours.err
            elif share >= HIGH:
                styles[n] = colours.warn
    return _runs(text, spark(shares), styles)


def _runs(text: Text, chars: str, styles: list[Style]) -> Text:
    """TEXT with CHARS appended, one span per run of one style (not one per char: each
    span costs the label's rendering, once a second per pane)."""
    at = 0
    for style, run in itertools.groupby(styles):
        size = len(list(run))
        text.append(chars[at : at + size], style)
        at += size
    return text


def line(shares: list[float], width: int, colours: Colours | None) -> Text:
    """The limit's row: the line in the muted colour, broken in the error colour by
    samples over the limit; right-aligned with the bars below it."""
    row = limit_row(shares)
    text = Text(limit_row([0.0] * max(0, width - len(shares))), end="")
    if colours is None:
        text.append(row)
        return text
    text.stylize(colours.muted)
    return _runs(text, row, [colours.err if share > 1 else colours.muted for share in shares])
