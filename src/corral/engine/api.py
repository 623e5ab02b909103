"""Provides SupervisorAPI, the one interface every front end talks to.

Implemented by the in-process `Supervisor` and by the daemon's client, so the TUI and
the CLI work the same against either.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from corral.config.spec import AppSpec
from corral.engine.events import Event, ProcessInfo


class UnknownTarget(LookupError):
    """No process matches the target; the CLI turns this into exit code 1."""


class StartError(RuntimeError):
    """Apps could not be added (a socket could not be bound); nothing was started."""


class ReloadFailed(RuntimeError):
    """A replacement never got ready; the old instances keep serving. CLI exit code 1."""


class SupervisorAPI(Protocol):
    """Commands a front end may send, plus the event stream (a snapshot first).

    A target is an id, a name, a namespace or `all`. Commands return the processes they
    touched, as they are when the command completes.
    """

    async def add(self, specs: Sequence[AppSpec]) -> list[ProcessInfo]:
        """Register apps (one process per instance) and start those with autostart."""
        ...

    async def start(self, target: str) -> list[ProcessInfo]: ...

    async def stop(self, target: str) -> list[ProcessInfo]: ...

    async def restart(self, target: str) -> list[ProcessInfo]: ...

    async def reload(self, target: str) -> list[ProcessInfo]: ...

    async def delete(self, target: str) -> list[ProcessInfo]: ...

    async def signal(self, target: str, signal: str) -> list[ProcessInfo]: ...

    async def reset(self, target: str) -> list[ProcessInfo]: ...

    async def scale(self, name: str, count: int) -> list[ProcessInfo]: ...

    async def list(self) -> list[ProcessInfo]: ...

    def events(self) -> AsyncIterator[Event]:
        """Every process's state as a StateChanged first, then live events as they happen."""
        ...
