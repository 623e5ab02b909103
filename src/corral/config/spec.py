"""Provides AppSpec, the validated, resolved description of one app that the engine runs.

Config loading (any format) ends in AppSpec; the engine, the daemon and the CLI pass it
around whole instead of dozens of loose parameters. It does no I/O.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

LogType = Literal["raw", "json"]
ExecMode = Literal["fork", "cluster"]
MemoryScope = Literal["tree", "process"]
ProbeKind = Literal["http", "tcp", "exec"]

HEALTH_CHECK_PERIOD_MS = 200
"""How often `health_check = URL` (a readiness probe's older spelling) polls, as it always did."""


@dataclass(frozen=True, slots=True)
class Probe:
    """One readiness or liveness probe (Kubernetes' and process-compose's knobs, in ms)."""

    kind: ProbeKind
    target: str
    """The URL (http), `host:port` (tcp), or shell command (exec, run with `sh -c`)."""
    initial_delay: int = 0
    """Wait this long before the first attempt (counted from the start for readiness,
    from `online` for liveness)."""
    period: int = 1000
    """Time from one attempt's start to the next one's."""
    timeout: int = 1000
    """An attempt that takes longer fails (an exec probe's process group is killed)."""
    success_threshold: int = 1
    """Successes in a row before the probe counts as passing."""
    failure_threshold: int = 3
    """Failures in a row before the probe counts as failing (liveness: a restart)."""

    @property
    def what(self) -> str:
        """What one attempt does, for messages: `GET http://…`, `connect host:port`, `exec …`."""
        verb = {"http": "GET", "tcp": "connect", "exec": "exec"}[self.kind]
        return f"{verb} {self.target}"

    @classmethod
    def from_dict(cls, data: Any) -> Probe | None:
        """Rebuild from `asdict` output (RPC, dumps); a Probe or None passes through."""
        if data is None or isinstance(data, Probe):
            return data
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def health_check_probe(url: str) -> Probe:
    """The readiness probe `health_check = URL` stands for."""
    return Probe("http", url, period=HEALTH_CHECK_PERIOD_MS)


@dataclass(frozen=True, slots=True)
class AppSpec:
    """One app as the engine needs it: every path absolute, every unit resolved.

    Times are milliseconds, memory is bytes. `instances` is already a count (>= 1).
    """

    name: str
    """Process name; instances of one app share it (PM2: not unique)."""
    script: str
    """Absolute path of the script, or a command name to find on PATH when it has no slash."""
    cwd: str
    """Absolute working directory."""
    args: tuple[str, ...] = ()
    """Arguments after the script."""
    interpreter: str | None = None
    """Program that runs the script; None means exec the script itself (PM2's `none`)."""
    interpreter_args: tuple[str, ...] = ()
    """Arguments placed before the script (PM2's `interpreter_args`, alias `node_args`)."""
    env: dict[str, str] = field(default_factory=dict)
    """The whole child environment: the caller's, then `env`, then `env_<profile>`."""
    env_file: tuple[str, ...] = ()
    """The env files read into `env` (absolute; `-/path` when optional), top-level first."""
    secret_env: tuple[str, ...] = ()
    """Variables whose value came from an env file: describe, config and the TUI mask them."""
    env_pinned: tuple[str, ...] = ()
    """Variables `env`, `env_<profile>` or `port` set over the env files: a file read again
    (reload, restart --update-env) does not override them."""
    depends_on: dict[str, str] = field(default_factory=dict)
    """Apps of the same file this one waits for -> the condition (config/depends.py)."""
    namespace: str = "default"
    instances: int = 1
    exec_mode: ExecMode = "fork"
    autostart: bool = True
    autorestart: bool = True
    max_restarts: int = 16
    """Consecutive unstable exits (shorter than min_uptime) before the app goes `errored`."""
    min_uptime: int = 1000
    restart_delay: int = 0
    exp_backoff_restart_delay: int | None = None
    stop_exit_codes: tuple[int, ...] = ()
    kill_timeout: int = 1600
    kill_signal: str = "SIGINT"
    treekill: bool = True
    max_memory_restart: int | None = None
    memory_scope: MemoryScope = "tree"
    """What max_memory_restart measures: the whole process tree, or the main process (PM2)."""
    watch: bool | tuple[str, ...] = False
    """False, True (watch cwd), or paths (absolute)."""
    ignore_watch: tuple[str, ...] = ()
    watch_delay: int = 1000
    """Quiet time after the last change before the restart (debounce); PM2's default is 0."""
    cron_restart: str | None = None
    out_file: str | None = None
    """None means the default under $CORRAL_HOME/logs; "/dev/null" disables the stream."""
    error_file: str | None = None
    log_file: str | None = None
    log_date_format: str | None = None
    time: bool = False
    merge_logs: bool | None = None
    """None means PM2's default: merged when the app has one instance."""
    log_type: LogType = "raw"
    pid_file: str | None = None
    """Write each run's pid here (PM2's `-p`; FILE.pid becomes FILE-<id>.pid), removed at exit."""
    log_max_size: int | None = None
    """Rotate a log file once it reaches this many bytes; None: the global default (10M)."""
    log_retain: int | None = None
    """Rotated files kept per log; None: the global default (30)."""
    log_compress: bool | None = None
    """gzip rotated files; None: the global default (no)."""
    log_rotate_interval: str | None = None
    """Cron expression that rotates non-empty files; None: the global default (daily)."""
    listen: tuple[str, ...] = ()
    """Addresses whose sockets the engine binds once and shares with every instance."""
    reuse_port: bool = False
    """The app binds PORT itself with SO_REUSEPORT: reload may overlap old and new."""
    shim: bool = True
    """In cluster mode, the app's own bind()/listen() of a TCP port gets the socket the
    engine shares (Python: a sitecustomize hook; Node: a --require preload)."""
    wait_ready: bool = False
    """Online only after READY=1 on NOTIFY_SOCKET (systemd's notify protocol)."""
    listen_timeout: int = 3000
    """How long to wait for readiness before giving up (see ready_timeout_fails)."""
    ready_timeout_fails: bool = False
    """A run not ready within listen_timeout is a failure, not online anyway."""
    health_check: str | None = None
    """The older spelling of `readiness_probe = { http = URL, period = "200ms" }`; a spec
    made with it gets that readiness_probe (see __post_init__)."""
    readiness_probe: Probe | None = None
    """Gates `online`: a run is ready once it passes (engine/probes.py)."""
    liveness_probe: Probe | None = None
    """Watches an online run: failure_threshold failures in a row restart it."""
    reload_parallel: int = 1
    """Instances replaced at once by a rolling reload."""
    instance_var: str = "NODE_APP_INSTANCE"
    increment_var: str | None = None
    source: str | None = None
    """The ecosystem file this app came from, if any (for messages and `start FILE`)."""

    def __post_init__(self) -> None:
        # One probe model: the engine reads readiness_probe only, whichever way it was given.
        if self.health_check and self.readiness_probe is None:
            object.__setattr__(self, "readiness_probe", health_check_probe(self.health_check))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists); `from_dict` reverses it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AppSpec:
        """Rebuild a spec sent over RPC or saved in a dump; unknown keys are ignored."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        tuples = ("args", "interpreter_args", "stop_exit_codes", "ignore_watch", "listen")
        for key in (*tuples, "env_file", "secret_env", "env_pinned"):
            if key in known and known[key] is not None:
                known[key] = tuple(known[key])
        if isinstance(known.get("watch"), list):
            known["watch"] = tuple(known["watch"])
        for key in ("readiness_probe", "liveness_probe"):
            if key in known:
                known[key] = Probe.from_dict(known[key])
        return cls(**known)
