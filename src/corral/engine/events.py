"""Provides the typed events the engine publishes and ProcessInfo, a process's public view.

Front ends (the daemon's RPC, `up --no-ui`, the TUI) consume only these. Each has a
`to_dict` form that JSON carries unchanged over the RPC, and `event_from_dict` reverses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from corral.config.spec import AppSpec
from corral.engine.states import ProcessState

Stream = Literal["out", "err"]


@dataclass(frozen=True, slots=True)
class RestartReason:
    """Why a process was restarted (or gave up), for `describe` and the event stream."""

    time: float
    reason: str
    """One word: crash, memory, watch, cron, user (or errored, when it gave up)."""
    detail: str
    """The specifics: "exit code 1", "memory 212M > limit 200M", "file changed: app.py"."""


ProbeName = Literal["readiness", "liveness"]
ProbeVerdict = Literal["pending", "ok", "failing"]


@dataclass(frozen=True, slots=True)
class ProbeStatus:
    """Where one probe of one process stands (jlist's `probe`, describe, the TUI)."""

    probe: ProbeName
    kind: str
    """http, tcp or exec."""
    target: str
    verdict: ProbeVerdict = "pending"
    """ok after success_threshold passes in a row, failing after failure_threshold
    failures in a row, pending before either (or while it is not running)."""
    last: Literal["ok", "failed"] | None = None
    """The last attempt's result (None before the first)."""
    failures: int = 0
    """Consecutive failed attempts (0 after a pass)."""
    last_error: str | None = None
    """What the last failed attempt said (kept after a pass, for describe)."""
    last_at: float | None = None
    """Wall-clock time of the last attempt."""
    running: bool = False
    """True while the probe runs (readiness until the run is ready, liveness while online)."""

    @classmethod
    def from_dict(cls, data: Any) -> ProbeStatus:
        if isinstance(data, ProbeStatus):
            return data
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A snapshot of one managed process (one instance of an app)."""

    id: int
    """PM2's pm_id: unique in the table, never reused while the table is not empty."""
    name: str
    namespace: str
    instance: int
    """The instance index, also given to the child as `instance_var`."""
    status: ProcessState
    pid: int | None
    restarts: int
    """Restarts since creation or the last `reset` (PM2's restart_time)."""
    unstable_restarts: int
    started_at: float | None
    """Wall-clock time of the current run's start (PM2's pm_uptime), None when not running."""
    created_at: float
    exit_code: int | None = None
    exit_signal: str | None = None
    reasons: tuple[RestartReason, ...] = ()
    """The last 20 restart reasons, newest last."""
    spec: AppSpec | None = None
    env: dict[str, str] = field(default_factory=dict)
    """The environment the child got (the spec's env plus corral's variables)."""
    cpu: float | None = None
    """CPU % of the whole tree at the latest sample; None when not running or not yet known."""
    memory: int | None = None
    """RSS bytes of the whole tree at the latest sample; None when not running."""
    cpu_seconds: float = 0.0
    """CPU seconds used by every run of this process's tree since it was created (measured
    at each sample; a counter: it never goes down while the process exists)."""
    watching: bool = False
    """True while file changes restart this process (`watch` set, not stopped by the user)."""
    next_cron: float | None = None
    """Wall-clock time of the next `cron_restart`, None when there is none or it is paused."""
    watch_on: bool = False
    """The watch switch: watching resumes at the next start while it is on (saved)."""
    paused: bool = True
    """A user's stop holds watch and cron until the next start (saved); False once started."""
    probe: dict[str, ProbeStatus] = field(default_factory=dict)
    """Per configured probe ("readiness", "liveness"), where it stands."""
    waiting_for: tuple[str, ...] = ()
    """While `waiting`: what of its depends_on does not hold, one phrase per dependency
    (`db ready`, `migrate exited 1`)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; `from_dict` reverses it."""
        data = asdict(self)
        data["status"] = self.status.value
        data["spec"] = self.spec.to_dict() if self.spec else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessInfo:
        """Rebuild from `to_dict` output."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["status"] = ProcessState(fields["status"])
        fields["reasons"] = tuple(
            r if isinstance(r, RestartReason) else RestartReason(**r)
            for r in fields.get("reasons") or ()
        )
        fields["waiting_for"] = tuple(fields.get("waiting_for") or ())
        spec = fields.get("spec")
        fields["spec"] = AppSpec.from_dict(spec) if spec else None
        probes = fields.get("probe") or {}
        fields["probe"] = {name: ProbeStatus.from_dict(s) for name, s in probes.items()}
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class StateChanged:
    """A process moved to a new state; `info` is its full snapshot after the move."""

    info: ProcessInfo
    ts: float
    kind: Literal["state"] = "state"


@dataclass(frozen=True, slots=True)
class ProbeChecked:
    """A probe's standing changed (a failure, a verdict, a stop); a pass that changes
    nothing is not published, so a healthy app's probes make no events."""

    id: int
    name: str
    ts: float
    status: ProbeStatus
    kind: Literal["probe"] = "probe"


@dataclass(frozen=True, slots=True)
class LogLines:
    """Lines a process wrote, read together and stamped with the time they were read.

    One event per read keeps the cost per line tiny: a burst of a thousand lines is one
    event holding one *block*, the lines joined by newlines exactly as read (bytes kept,
    no final newline). A plain log file appends the block as it is; `lines` and `texts`
    split it for whoever wants lines, so nobody pays for a split they do not use.
    """

    id: int
    name: str
    stream: Stream
    ts: float
    block: bytes
    kind: Literal["log"] = "log"

    @classmethod
    def of(cls, id: int, name: str, stream: Stream, ts: float, lines: Iterable[bytes]) -> LogLines:
        """The event for LINES (each without its newline)."""
        return cls(id, name, stream, ts, b"\n".join(lines))

    @property
    def lines(self) -> list[bytes]:
        """The lines, exactly as written (without newlines)."""
        return self.block.split(b"\n")

    def texts(self) -> list[str]:
        """The lines for display: invalid UTF-8 replaced, never raised on."""
        return self.block.decode("utf-8", "replace").split("\n")


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Something the supervisor did or saw: started, exited, restarting, errored, stopped."""

    id: int
    name: str
    ts: float
    message: str
    level: Literal["info", "warn", "error"] = "info"
    kind: Literal["lifecycle"] = "lifecycle"


PERSISTENCE = "persistence"
"""The `name` of the daemon's Lifecycle events (id -1) about state.json/dump.json writes:
level `error` while they fail, `info` once a write succeeds again (monit's header)."""


@dataclass(frozen=True, slots=True)
class Removed:
    """A process left the table (`delete`, `scale` down)."""

    id: int
    name: str
    ts: float
    kind: Literal["removed"] = "removed"


@dataclass(frozen=True, slots=True)
class MetricsSample:
    """One process's CPU and memory at one tick of the sampler (engine/metrics.py)."""

    id: int
    ts: float
    cpu: float | None
    """CPU % of the process and all its descendants (100 = one core); None on a run's first tick."""
    memory: int
    """RSS bytes of the process and all its descendants."""
    cpu_main: float | None
    """CPU % of the main process alone."""
    memory_main: int
    """RSS bytes of the main process alone (what PM2 reports)."""
    cpu_seconds: float = 0.0
    """CPU seconds the tree used since the previous sample (all of it on a run's first)."""
    kind: Literal["metrics"] = "metrics"


@dataclass(frozen=True, slots=True)
class HostSample:
    """The machine's figures at one tick, for a front end's header."""

    ts: float
    cpu: float | None
    """CPU % of the whole machine (100 = every core busy); None on the first tick."""
    mem_used: int
    mem_total: int
    load: tuple[float, float, float]
    """Load average over 1, 5 and 15 minutes."""
    kind: Literal["host"] = "host"


@dataclass(frozen=True, slots=True)
class Lagged:
    """This subscriber fell behind and events passed it by; what follows is live again.

    A reader that stops reading (`corral logs | less`, a frozen SSH session) must not grow
    the daemon: its queue holds a bounded number of bytes, and once full it misses events
    until it catches up. It is then told how much it missed and gets a fresh snapshot
    (a StateChanged per process), so its table is right even though its tail has a gap.
    """

    lines: int
    """Log lines it missed."""
    events: int
    """Other events it missed (state changes, samples); the snapshot that follows covers them."""
    ts: float
    kind: Literal["lagged"] = "lagged"

    @property
    def message(self) -> str:
        """What a front end shows at the gap."""
        others = f" and {self.events} other events" if self.events else ""
        return f"this reader fell behind and missed {self.lines} log lines{others}; live again"


Event = (
    StateChanged
    | LogLines
    | Lifecycle
    | Removed
    | MetricsSample
    | HostSample
    | Lagged
    | ProbeChecked
)


def event_to_dict(event: Event) -> dict[str, Any]:
    """JSON-ready form of any event (json.dumps it with the default ensure_ascii)."""
    if isinstance(event, StateChanged):
        return {"kind": event.kind, "ts": event.ts, "info": event.info.to_dict()}
    if isinstance(event, LogLines):
        # surrogateescape keeps bytes that are not UTF-8; JSON escapes them as \udcXX.
        return {
            "kind": event.kind,
            "id": event.id,
            "name": event.name,
            "stream": event.stream,
            "ts": event.ts,
            "lines": event.block.decode("utf-8", "surrogateescape").split("\n"),
        }
    return asdict(event)


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `event_to_dict` output."""
    kind = data["kind"]
    if kind == "state":
        return StateChanged(ProcessInfo.from_dict(data["info"]), data["ts"])
    if kind == "log":
        block = "\n".join(data["lines"]).encode("utf-8", "surrogateescape")
        return LogLines(data["id"], data["name"], data["stream"], data["ts"], block)
    if kind == "lifecycle":
        return Lifecycle(data["id"], data["name"], data["ts"], data["message"], data["level"])
    if kind == "removed":
        return Removed(data["id"], data["name"], data["ts"])
    if kind == "probe":
        return ProbeChecked(
            data["id"], data["name"], data["ts"], ProbeStatus.from_dict(data["status"])
        )
    if kind == "lagged":
        return Lagged(int(data["lines"]), int(data["events"]), data["ts"])
    if kind == "metrics":
        return MetricsSample(
            data["id"],
            data["ts"],
            data["cpu"],
            data["memory"],
            data["cpu_main"],
            data["memory_main"],
            data.get("cpu_seconds", 0.0),  # absent from older daemons
        )
    if kind == "host":
        one, five, fifteen = data["load"]
        load = (float(one), float(five), float(fifteen))
        return HostSample(data["ts"], data["cpu"], data["mem_used"], data["mem_total"], load)
    raise ValueError(f"unknown event kind {kind!r}")
