"""Provides the typed events the engine publishes and ProcessInfo, a process's public view.

Front ends (the daemon's RPC, `up --no-ui`, the TUI) consume only these. Each has a
`to_dict` form that JSON carries unchanged over the RPC, and `event_from_dict` reverses it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from corral.config.spec import AppSpec
from corral.engine.states import ProcessState

Stream = Literal["out", "err"]


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
    reasons: tuple[str, ...] = ()
    """The last few restart reasons, newest last."""
    spec: AppSpec | None = None
    env: dict[str, str] = field(default_factory=dict)
    """The environment the child got (the spec's env plus corral's variables)."""

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
        fields["reasons"] = tuple(fields.get("reasons") or ())
        spec = fields.get("spec")
        fields["spec"] = AppSpec.from_dict(spec) if spec else None
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class StateChanged:
    """A process moved to a new state; `info` is its full snapshot after the move."""

    info: ProcessInfo
    ts: float
    kind: Literal["state"] = "state"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line a process wrote, stamped when the supervisor read it.

    `data` keeps the bytes exactly (no newline); `text` decodes them for display.
    """

    id: int
    name: str
    stream: Stream
    ts: float
    data: bytes
    kind: Literal["log"] = "log"

    @property
    def text(self) -> str:
        """The line for display: invalid UTF-8 replaced, never raised on."""
        return self.data.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Something the supervisor did or saw: started, exited, restarting, errored, stopped."""

    id: int
    name: str
    ts: float
    message: str
    level: Literal["info", "warn", "error"] = "info"
    kind: Literal["lifecycle"] = "lifecycle"


@dataclass(frozen=True, slots=True)
class Removed:
    """A process left the table (`delete`, `scale` down)."""

    id: int
    name: str
    ts: float
    kind: Literal["removed"] = "removed"


Event = StateChanged | LogLine | Lifecycle | Removed


def event_to_dict(event: Event) -> dict[str, Any]:
    """JSON-ready form of any event; log bytes travel as text when valid UTF-8."""
    if isinstance(event, StateChanged):
        return {"kind": event.kind, "ts": event.ts, "info": event.info.to_dict()}
    if isinstance(event, LogLine):
        try:
            text, raw = event.data.decode("utf-8"), False
        except UnicodeDecodeError:
            text, raw = event.data.hex(), True
        return {
            "kind": event.kind,
            "id": event.id,
            "name": event.name,
            "stream": event.stream,
            "ts": event.ts,
            "line": text,
            "hex": raw,
        }
    return asdict(event)


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `event_to_dict` output."""
    kind = data["kind"]
    if kind == "state":
        return StateChanged(ProcessInfo.from_dict(data["info"]), data["ts"])
    if kind == "log":
        line = data["line"]
        raw = bytes.fromhex(line) if data.get("hex") else line.encode("utf-8")
        return LogLine(data["id"], data["name"], data["stream"], data["ts"], raw)
    if kind == "lifecycle":
        return Lifecycle(data["id"], data["name"], data["ts"], data["message"], data["level"])
    if kind == "removed":
        return Removed(data["id"], data["name"], data["ts"])
    raise ValueError(f"unknown event kind {kind!r}")
