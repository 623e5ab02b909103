"""Provides DetailsScreen: everything about one app: config, logs, restarts, env, cron, watch.

What `corral describe` prints, kept live: the screen redraws once a second from the
Board, so a restart shows up in the timeline while you look at it. Environment values
are not shown, only their names: they are where secrets live, and screens get shared.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from corral.config.spec import AppSpec
from corral.engine.events import ProcessInfo
from corral.engine.logfiles import log_paths
from corral.figures import (
    config_text,
    probe_state_text,
    probe_text,
    size_text,
    uptime_text,
)
from corral.tui.model import Board
from corral.tui.widgets.key_bar import KeyBar, KeyItem
from corral.tui.widgets.process_table import STATUS_TEXT


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value} ms"


_VERSIONS: dict[str, str] = {}
"""`python3 --version` and the like, asked once per interpreter per UI."""


def interpreter_version(interpreter: str) -> str:
    """What INTERPRETER --version says (`Python 3.11.2`, `v20.11.1`); blocking, so a worker
    calls it. Empty when it cannot tell within a second."""
    found = _VERSIONS.get(interpreter)
    if found is None:
        try:
            run = subprocess.run(
                [interpreter, "--version"], capture_output=True, text=True, timeout=1.0
            )
            found = (
                (run.stdout or run.stderr).strip().splitlines()[0] if run.returncode == 0 else ""
            )
        except (OSError, subprocess.SubprocessError, IndexError):
            found = ""
        _VERSIONS[interpreter] = found
    return found


def metadata_rows(info: ProcessInfo, home: str, now: float, version: str) -> list[tuple[str, str]]:
    """What `pm2 monit` shows beside a process, as (key, value) text."""
    spec = info.spec
    up = uptime_text(now - info.started_at) if info.started_at and info.pid else "-"
    rows = [
        ("status", f"{STATUS_TEXT.get(info.status, info.status)} · pid {info.pid or '-'}"),
        ("uptime", up),
        ("restarts", f"{info.restarts} ({info.unstable_restarts} unstable)"),
    ]
    rows += [(name, probe_state_text(status)) for name, status in sorted(info.probe.items())]
    if spec is None:
        return rows
    interpreter = spec.interpreter or "none (run directly)"
    limit = spec.max_memory_restart
    watch = "off"
    if spec.watch:
        watch = "watching" if info.watching else "paused (stopped by user)"
    paths = log_paths(spec, info.id, home)
    rows += [
        ("script", spec.script),
        ("interpreter", f"{interpreter} {version}".rstrip()),
        ("exec mode", f"{spec.exec_mode} · instance {info.instance} of {spec.instances}"),
        ("cwd", spec.cwd),
        ("memory limit", size_text(limit) if limit else "-"),
        ("watch", watch),
        (
            "cron restart",
            f"{spec.cron_restart} · next {_when(info.next_cron)}"
            if spec.cron_restart and info.next_cron
            else spec.cron_restart or "-",
        ),
        ("out log", paths.out or "-"),
        ("error log", paths.err or "-"),
    ]
    return rows


def config_rows(spec: AppSpec) -> list[tuple[str, str]]:
    """The settings worth seeing, as (key, value) text."""
    watch = spec.watch
    rows = [
        ("script", spec.script),
        ("args", " ".join(spec.args) or "-"),
        ("cwd", spec.cwd),
        ("interpreter", " ".join([spec.interpreter or "-", *spec.interpreter_args])),
        ("namespace", spec.namespace),
        ("instances", f"{spec.instances} ({spec.exec_mode})"),
        ("autorestart", f"{config_text(spec.autorestart)}, max_restarts {spec.max_restarts}"),
        ("min_uptime", _ms(spec.min_uptime)),
        ("restart_delay", _ms(spec.restart_delay)),
        ("exp_backoff", _ms(spec.exp_backoff_restart_delay)),
        ("stop", f"{spec.kill_signal}, then SIGKILL after {spec.kill_timeout} ms"),
        ("memory limit", size_text(spec.max_memory_restart) if spec.max_memory_restart else "-"),
        ("cron_restart", spec.cron_restart or "-"),
        ("watch", config_text(spec.watch) if watch else "-"),
    ]
    for key, probe in (("readiness", spec.readiness_probe), ("liveness", spec.liveness_probe)):
        if probe is not None:
            rows.append((f"{key}_probe", probe_text(probe)))
    if spec.ignore_watch:
        rows.append(("ignore_watch", ", ".join(spec.ignore_watch)))
    return rows


class DetailsScreen(Screen[None]):
    """One app (or one instance) in full; Escape, `q` or Enter goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "back", "Back"),
    ]

    DEFAULT_CSS = """
    DetailsScreen VerticalScroll { padding: 0 1; }
    DetailsScreen .section {
        margin: 1 0 0 0; color: $text-accent; text-style: bold;
        border-bottom: solid $panel-lighten-2; width: 100%;
    }
    DetailsScreen #title { text-style: bold; background: $panel; padding: 0 1; }
    """
    """Section titles underlined in the accent colour; the rest plain text."""

    def __init__(
        self, board: Board, ids: tuple[int, ...], home: str, clock: Callable[[], float]
    ) -> None:
        super().__init__()
        self.board = board
        self.ids = ids
        """The processes shown: one, or every instance of a cluster."""
        self.home = home
        self.clock = clock
        self._last: tuple[ProcessInfo, ...] = ()
        self._version = ""
        """The interpreter's own version, once a thread has asked it."""

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        with VerticalScroll(id="details"):
            for name in ("meta", "status", "config", "logs", "restarts", "schedule", "env"):
                yield Static(classes="section", id=f"{name}-title")
                yield Static(id=f"{name}-body")
        keys: list[KeyItem] = getattr(self.app, "key_items", list)()
        # q and Enter go back here (BINDINGS), so the app's quit and details are left out.
        keys = [k for k in keys if k[2] not in ("quit_app", "details")]
        yield KeyBar([("esc", "Back", "screen.back"), *keys])

    def on_mount(self) -> None:
        self.redraw()
        self.set_interval(1.0, self.redraw)
        self._ask_version()

    @work(thread=True, exit_on_error=False, description="interpreter version")
    def _ask_version(self) -> None:
        infos = self.infos()
        spec = infos[0].spec if infos else None
        if spec is not None and spec.interpreter:
            self._version = interpreter_version(spec.interpreter)
            self.app.call_from_thread(self.redraw)

    def action_back(self) -> None:
        self.dismiss(None)

    def infos(self) -> list[ProcessInfo]:
        """The current info of each process shown (those still in the table)."""
        return [self.board.procs[i].info for i in self.ids if i in self.board.procs]

    def redraw(self) -> None:
        """Rebuild the text if any process changed (and the uptime, which always does)."""
        infos = self.infos()
        if not infos:
            self.query_one("#title", Static).update("this process is gone")
            return
        first = infos[0]
        spec = first.spec
        title = first.name if len(infos) > 1 else f"{first.name}[{first.id}]"
        self.query_one("#title", Static).update(Text(f"{title} · {first.namespace}"))
        many = f" (instance [{first.id}] of {len(infos)})" if len(infos) > 1 else ""
        rows = metadata_rows(first, self.home, self.clock(), self._version)
        self._section("meta", f"Metadata{many}", _grid(rows))
        self._section("status", "Status", self._status(infos))
        if spec is not None:
            self._section("config", "Config", _grid(config_rows(spec)))
            self._section("logs", "Log files", _grid(self._logs(spec, infos)))
        self._section(
            "restarts",
            f"Restart history (↺ {sum(i.restarts for i in infos)})",
            self._restarts(infos),
        )
        self._section("schedule", "Cron and watch", _grid(self._schedule(infos)))
        keys = sorted(spec.env) if spec else []
        self._section(
            "env",
            f"Environment ({len(keys)} variables, values hidden)",
            Text(" ".join(keys) or "-"),
        )

    def _section(self, name: str, title: str, body: Table | Text) -> None:
        self.query_one(f"#{name}-title", Static).update(Text(title))
        self.query_one(f"#{name}-body", Static).update(body)

    def _status(self, infos: list[ProcessInfo]) -> Table:
        now = self.clock()
        rows = []
        for info in infos:
            up = uptime_text(now - info.started_at) if info.started_at else "-"
            cpu = "-"
            proc = self.board.procs.get(info.id)
            if proc is not None and (value := proc.cpu_now()) is not None:
                cpu = f"{value:.1f}%"
            memory = proc.memory_now() if proc else None
            ended = ""
            if info.exit_code is not None or info.exit_signal:
                ended = f" · last exit {info.exit_signal or info.exit_code}"
            rows.append(
                (
                    f"[{info.id}]",
                    f"{STATUS_TEXT.get(info.status, info.status)} · pid {info.pid or '-'} · "
                    f"up {up} · cpu {cpu} · mem {size_text(memory) if memory else '-'} · "
                    f"↺ {info.restarts} ({info.unstable_restarts} unstable){ended}",
                )
            )
        return _grid(rows)

    def _logs(self, spec: AppSpec, infos: list[ProcessInfo]) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        seen: set[str] = set()
        for info in infos:
            paths = log_paths(spec, info.id, self.home)
            for label, path in (("out", paths.out), ("err", paths.err), ("all", paths.combined)):
                if path and path not in seen:
                    seen.add(path)
                    rows.append((label, path))
        return rows or [("-", "not written (/dev/null)")]

    def _restarts(self, infos: list[ProcessInfo]) -> Table | Text:
        many = len(infos) > 1
        events = sorted(
            ((r, info.id) for info in infos for r in info.reasons), key=lambda pair: pair[0].time
        )
        if not events:
            return Text("no restart yet")
        rows = [
            (_when(r.time), f"[{pm_id}] {r.reason}" if many else r.reason, r.detail)
            for r, pm_id in events
        ]
        return _grid(rows)

    def _schedule(self, infos: list[ProcessInfo]) -> list[tuple[str, str]]:
        first = infos[0]
        spec = first.spec
        crons = [i.next_cron for i in infos if i.next_cron]
        rows = [("next cron", _when(min(crons)) if crons else "-")]
        if spec is not None and spec.watch:
            where = spec.watch if not isinstance(spec.watch, bool) else (spec.cwd,)
            state = "watching" if any(i.watching for i in infos) else "paused (stopped by user)"
            rows.append(("watch", f"{state}: {', '.join(where)}"))
        else:
            rows.append(("watch", "off"))
        return rows


def _grid(rows: Sequence[tuple[str, ...]]) -> Table:
    table = Table.grid(padding=(0, 2))
    width = max((len(r) for r in rows), default=2)
    table.add_column(style="bold", no_wrap=True)
    for _ in range(width - 1):
        table.add_column(overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table
