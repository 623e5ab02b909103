"""Provides SupervisorAPI, the one interface every front end talks to.

Implemented by the in-process `Supervisor` and by the daemon's client, so the TUI and
the CLI work the same against either.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from corral.config.spec import AppSpec
from corral.engine.events import Event, HostSample, MetricsSample, ProcessInfo
from corral.engine.gate import DepsMode


class UnknownTarget(LookupError):
    """No process matches the target; the CLI turns this into exit code 1."""


class StartError(RuntimeError):
    """Apps could not be added (a socket could not be bound); nothing was started."""


class ReloadFailed(RuntimeError):
    """A replacement never got ready; the old instances keep serving. CLI exit code 1."""


BACKEND_ERRORS = (LookupError, ValueError, RuntimeError, OSError)
"""What a SupervisorAPI call may raise: UnknownTarget (a LookupError), BadArgument (a
ValueError), a RuntimeError when the command failed (ReloadFailed, StartError; the daemon
client's DaemonError), an OSError when the backend cannot be reached."""


class BadArgument(ValueError):
    """A command's argument is wrong (an unknown signal, a bad cron pattern). CLI exit 2."""


@dataclass(frozen=True, slots=True)
class Restored:
    """One process to bring back (`resurrect`, crash recovery, `update`), as it was saved."""

    spec: AppSpec
    status: str
    """`stopped` registers it without starting it; anything else starts it."""
    id: int | None = None
    """The id it had, given again when free (its log files keep their names)."""
    watch_on: bool | None = None
    """Its watch switch; None (an older dump): on when the spec watches."""
    paused: bool | None = None
    """Whether a user's stop held its watch and cron; None (an older dump): when stopped."""


class SupervisorAPI(Protocol):
    """Commands a front end may send, plus the event stream (a snapshot first).

    Commands take one or more targets, each an id, a name, a namespace or `all`; every
    target must name something before anything is done (else UnknownTarget). They return
    the processes they touched, in id order, as they are when the command completes.
    """

    async def add(self, specs: Sequence[AppSpec], *, replace: bool = False) -> list[ProcessInfo]:
        """Register apps (one process per instance) and start those with autostart.

        With REPLACE, an app whose name exists restarts with the new spec instead, scaled
        to its instance count (PM2: starting a name that exists restarts it).
        """
        ...

    async def start(self, *targets: str, deps: DepsMode = "wait") -> list[ProcessInfo]:
        """Start what is not running; watch and cron resume.

        An app with `depends_on` that does not hold waits for it (`waiting`); DEPS
        "with" starts what it depends on too, "ignore" starts it regardless.
        """
        ...

    async def stop(self, *targets: str) -> list[ProcessInfo]:
        """Stop and stay stopped; watch and cron pause until the next start."""
        ...

    async def restart(
        self,
        *targets: str,
        env: Mapping[str, str] | None = None,
        toggle_watch: bool = False,
        cron_restart: str | None = None,
    ) -> list[ProcessInfo]:
        """Stop (if running) and start again; watch and cron resume.

        ENV is layered over each spec's env first (`--update-env`); TOGGLE_WATCH flips the
        watch switch (PM2's `restart --watch`); CRON_RESTART replaces the cron pattern,
        and "0" removes it (PM2's `--cron 0`).
        """
        ...

    async def reload(
        self, *targets: str, env: Mapping[str, str] | None = None
    ) -> list[ProcessInfo]:
        """Rolling reload (zero-downtime with shared sockets, a restart otherwise)."""
        ...

    async def delete(self, *targets: str) -> list[ProcessInfo]:
        """Stop and remove from the table."""
        ...

    async def signal(self, *targets: str, signal: str) -> list[ProcessInfo]:
        """Send SIGNAL (name or number) to each target's main process."""
        ...

    async def reset(self, *targets: str) -> list[ProcessInfo]:
        """Zero the restart counters."""
        ...

    async def scale(self, name: str, count: int, *, relative: bool = False) -> list[ProcessInfo]:
        """Run COUNT instances of NAME (COUNT more or fewer when RELATIVE); PM2 removes the
        oldest instances first, and so does corral."""
        ...

    async def list_processes(self, *targets: str) -> list[ProcessInfo]:
        """The processes TARGETS name (every process without targets), in id order."""
        ...

    async def history(self, pm_id: int) -> list[MetricsSample]:
        """PM_ID's recent samples, oldest first (15 min at 1 Hz), so sparklines start full."""
        ...

    async def host(self) -> HostSample | None:
        """The machine's latest CPU, memory and load (None before the first tick)."""
        ...

    def events(self) -> AsyncIterator[Event]:
        """Every process's state as a StateChanged first, then live events as they happen."""
        ...
