"""Provides the adapter contract: how a scenario asks a process manager to do things.

Scenarios describe *what* to run (an `AppDef`) and *which* verb to time; only the
adapters know the command lines, the ecosystem format, where the daemon's pid lives and
what `jlist` looks like. Adding a tool is one more adapter module (supervisord was).
"""

from __future__ import annotations

import os
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.procs import Tracker

CLOSE_GRACE_S = 0.3
CLI_TIMEOUT_S = 60.0
"""A verb that takes longer than this is hung; the scenario fails rather than the run."""


@dataclass(frozen=True, slots=True)
class AppDef:
    """One app of an ecosystem, in PM2's attribute names (both tools read the same knobs)."""

    name: str
    script: Path
    interpreter: str
    args: tuple[str, ...] = ()
    instances: int = 1
    restart_delay: int = 0
    max_restarts: int = 16
    min_uptime: int = 1000
    kill_timeout: int = 1600
    autorestart: bool = True
    env: dict[str, str] = field(default_factory=dict)
    time: bool = False
    """Prefix every log line with a timestamp (PM2's `time`)."""
    max_memory_restart: str | None = None
    """Restart above this RSS, e.g. "200M" (both tools parse it x1024 per step)."""
    listen: str | None = None
    """corral only: a socket the daemon binds and hands to every instance (pm2 has none
    for non-Node apps, so its apps bind the port themselves)."""


@dataclass(frozen=True, slots=True)
class ProcView:
    """One managed process as `jlist` reports it, normalised across tools."""

    name: str
    status: str
    pid: int | None
    restarts: int


class ToolUnavailable(RuntimeError):
    """The tool (or the feature a scenario needs) is not there; the cell says why."""


@dataclass(frozen=True, slots=True)
class Probe:
    """How to see a tool's terminal monitor react to a key (the monitor scenario)."""

    ready: str
    """Text on its first full screen."""
    key: str
    """A tmux key name to press."""
    shows: str
    """Text that appears once the key took effect."""
    back: str
    """The key that undoes it."""


class Session(ABC):
    """One tool in one private home, from first command to cleanup.

    Every pid the session learns of goes to its Tracker, so `close` can kill whatever
    the tool's own `kill` verb left behind.
    """

    standin: str | None = None
    """When the session imitates a missing feature, what stands in (for the report)."""
    home_var: str = ""
    """The environment variable that points the tool at its home (CORRAL_HOME, PM2_HOME);
    empty for a tool told its home on the command line (supervisord's `-c`)."""

    def __init__(self, home: Path, tracker: Tracker, launcher: list[str]) -> None:
        self.home = home
        self.tracker = tracker
        self.launcher = launcher
        """The argv prefix that runs the tool's CLI."""

    def env(self) -> dict[str, str]:
        """The environment every command of this session runs with (its home set)."""
        env = base_env()
        if self.home_var:
            env[self.home_var] = str(self.home)
        return env

    def command(self, *verb: str) -> list[str]:
        """The argv a user would type for VERB."""
        return [*self.launcher, *verb]

    @abstractmethod
    def write_ecosystem(self, apps: list[AppDef], folder: Path) -> Path:
        """Write APPS as this tool's ecosystem file in FOLDER; return its path."""

    @abstractmethod
    def daemon_pid(self) -> int | None:
        """The daemon's pid, from its pid file; None when it is not running."""

    def log_path(self, name: str, stream: str = "out") -> Path:
        """The log file of app NAME's STREAM ("out" or "error"): every adapter uses PM2's
        `logs/NAME-out.log` layout in its home."""
        plain = self.home / "logs" / f"{name}-{stream}.log"
        if plain.exists():
            return plain
        # An explicit `instances` key gives one-instance apps PM2's `-ID` suffix too.
        numbered = sorted((self.home / "logs").glob(f"{name}-{stream}-*.log"))
        return numbered[0] if numbered else plain

    @abstractmethod
    def jlist(self) -> list[ProcView]:
        """Every managed process, as `jlist` reports it."""

    def run(
        self, *verb: str, check: bool = True, timeout: float = CLI_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        """Run one CLI verb to completion, output captured (a user would see it)."""
        proc = subprocess.run(
            self.command(*verb),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(verb)} exited {proc.returncode}: {proc.stderr.strip()[-400:]}"
            )
        return proc

    def timed(self, *verb: str, check: bool = True) -> float:
        """Wall seconds of one verb, from fork to exit, as a shell user would feel it."""
        t0 = time.perf_counter()
        self.run(*verb, check=check)
        return time.perf_counter() - t0

    def boot(self) -> None:
        """Bring the daemon up (outside any timed region) and remember its pid."""
        self.run("ping")
        self.track_daemon()

    def start(self, ecosystem: Path) -> None:
        """Start every app of ECOSYSTEM and return when the start verb returns."""
        self.run("start", str(ecosystem))

    def stop(self, name: str) -> None:
        """Stop the app NAME (all its instances); return when the verb returns."""
        self.run("stop", name, check=False)

    def track_daemon(self) -> None:
        """Record the daemon and its current descendants for cleanup."""
        pid = self.daemon_pid()
        if pid is not None:
            self.tracker.add_tree(pid)

    def monitor_probe(self, other_app: str) -> Probe:
        """How to drive this tool's `monit` (OTHER_APP: the second app, one Down away)."""
        raise ToolUnavailable("no terminal monitor")

    @abstractmethod
    def shutdown(self) -> None:
        """Ask the tool to stop its apps and its daemon (`kill`)."""

    def close(self) -> list[int]:
        """Shut the tool down, then kill anything tracked still alive; return those pids.

        A non-empty answer means the tool's own `kill` left processes behind.
        """
        try:
            self.track_daemon()
            self.shutdown()
        except (OSError, RuntimeError, subprocess.SubprocessError):
            pass
        finally:
            # Give the tool's own kill a moment to finish before the runner steps in.
            time.sleep(CLOSE_GRACE_S)
            killed = self.tracker.kill_all()
        return killed


class Tool(ABC):
    """A process manager under test: where it is, which version, how to open a session."""

    name: str
    out_of_scope: str = "not compared here"
    """Why it is skipped in a scenario that does not list it among its `peers`."""

    @abstractmethod
    def unavailable(self) -> str | None:
        """None when the tool can run here, else a one-line reason for the report."""

    @abstractmethod
    def version(self) -> str:
        """The tool's version, for the report header."""

    @abstractmethod
    def open(self, home: Path, tracker: Tracker) -> Session:
        """A session in the private HOME (a fresh, empty folder)."""

    def daemon_missing(self) -> str | None:
        """None when the tool has a daemon with CLI verbs, else why not (for the report)."""
        return None


def pm2_fields(app: AppDef) -> dict[str, object]:
    """APP in PM2's attribute names, which both tools read: one definition for both files."""
    fields: dict[str, object] = {
        "name": app.name,
        "script": str(app.script),
        "interpreter": app.interpreter,
        "args": list(app.args),
        "restart_delay": app.restart_delay,
        "max_restarts": app.max_restarts,
        "min_uptime": app.min_uptime,
        "kill_timeout": app.kill_timeout,
        "autorestart": app.autorestart,
        "env": dict(app.env),
    }
    if app.instances != 1:
        # Only when it matters: PM2 (and corral) name one instance's files NAME-out-ID.log
        # once `instances` is given at all, and the scenarios read NAME-out.log.
        fields["instances"] = app.instances
    if app.max_memory_restart:
        fields["max_memory_restart"] = app.max_memory_restart
    if app.time:
        fields["time"] = True
    return fields


def base_env() -> dict[str, str]:
    """The runner's environment, minus variables that would point a tool at another home."""
    env = dict(os.environ)
    for key in ("CORRAL_HOME", "PM2_HOME"):
        env.pop(key, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env
