"""Provides Run (one execution of a process) and the small pure helpers around it.

Kept apart from process.py, which holds the process's state machine and commands.
"""

from __future__ import annotations

import asyncio
import signal as signals
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from corral.engine.broker import Channel
from corral.engine.events import Event, Stream
from corral.engine.notify import NotifySocket
from corral.engine.policy import Ending
from corral.engine.sockets import SocketPool
from corral.engine.tree import Lineage

if TYPE_CHECKING:
    from corral.engine.probes import Prober
    from corral.engine.spawn import Lender, PipeReader


class Host(Protocol):
    """What a process needs from its supervisor: a place to publish, and the shared pid set."""

    home: str
    managed: set[int]
    lineage: Lineage
    """Where the sampler saw each descendant last: a stop finds escapees through it."""
    pool: SocketPool
    """Listening sockets shared with apps that ask for them (see broker.py)."""
    closing: bool
    """True once the host is shutting down: no process is restarted any more."""

    def publish(self, event: Event) -> None: ...

    def lender(self, pm_id: int, stream: Stream) -> Lender | None: ...


@dataclass(eq=False)
class Run:
    """One execution of the process: from spawn to the reaping of its root."""

    popen: subprocess.Popen[bytes]
    token: str
    started_at: float
    started_mono: float
    exited: asyncio.Future[int]
    readers: list[PipeReader] = field(default_factory=list)
    ending: Ending | None = None
    """Set by the command that ends this run on purpose; None means it ended on its own."""
    ready: asyncio.Future[bool] | None = None
    """Resolves True once the run is ready (at once without wait_ready/readiness_probe),
    False when it exited first or listen_timeout passed."""
    notify: NotifySocket | None = None
    channel: Channel | None = None
    """The broker channel (shared sockets on demand, Node's process.send)."""
    probers: list[Prober] = field(default_factory=list)
    """This run's probes (engine/probes.py); they stop when it ends."""
    probing: list[asyncio.Task[None]] = field(default_factory=list)
    """The tasks running them past readiness (liveness), cancelled when it ends."""

    @property
    def pid(self) -> int:
        return self.popen.pid


def signal_number(name: str) -> int:
    """SIGINT, INT or 2 -> 2."""
    if name.isdigit():
        return int(name)
    upper = name.upper()
    return int(signals.Signals[upper if upper.startswith("SIG") else f"SIG{upper}"])


def how_it_ended(code: int | None, signal: str | None) -> str:
    if signal is not None:
        return f"killed by {signal}"
    return "did not start" if code is None else f"exit code {code}"


def resolve_exit(future: asyncio.Future[int], status: int) -> None:
    if not future.done():
        future.set_result(status)
