"""Provides StartOrder: the supervisor's `depends_on` at work on its process table.

A start that goes through it waits (`waiting`) until the process's dependencies hold,
and starts go in waves, what others depend on first; stops go in the reverse waves. As
a sink of the supervisor's events, it looks at the waiting processes again after every
change of state and starts those whose conditions now hold. The rules themselves (what
a state means for a condition, the waves) are gate.py's, pure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from corral.engine import gate
from corral.engine.events import Event, Removed, StateChanged
from corral.engine.process import Gate, ManagedProcess
from corral.engine.states import ProcessState
from corral.engine.table import ProcessTable

Each = Callable[
    [Iterable[ManagedProcess], Callable[[ManagedProcess], Awaitable[None]]], Awaitable[None]
]


class StartOrder:
    """Gates starts on `depends_on` and orders starts and stops along it."""

    def __init__(self, table: ProcessTable, each: Each, closing: Callable[[], bool]) -> None:
        self._table = table
        self._each = each
        self._closing = closing
        self._due = False
        self._starting: set[asyncio.Task[None]] = set()
        """Starts of waiting processes whose dependencies came to hold."""

    def unmet(self, proc: ManagedProcess) -> tuple[str, ...]:
        """What of PROC's depends_on does not hold now (empty: it may start)."""
        if not proc.spec.depends_on:
            return ()
        return gate.unmet(proc.spec.depends_on, self._table.named)

    def gate(self, proc: ManagedProcess) -> Gate | None:
        """The check PROC's start makes under its lock (None: it has no dependencies)."""
        return (lambda: self.unmet(proc)) if proc.spec.depends_on else None

    async def start(self, procs: list[ManagedProcess]) -> None:
        """Start PROCS, what others depend on first (so a dependant waits for `db ready`,
        not `db stopped`); those whose dependencies do not hold wait for them."""
        for wave in reversed(self._waves(procs)):
            await self._each(wave, lambda p: p.start(self.gate(p)))

    async def start_needs(self, procs: list[ManagedProcess]) -> list[ManagedProcess]:
        """`start --with-deps`: start what PROCS depend on (through others too); returns
        those processes (their triggers resume like the targets')."""
        graph = self._graph()
        wanted: set[str] = set()
        for proc in procs:
            wanted |= gate.needs(proc.spec.name, graph)
        ids = {p.id for p in procs}
        extra = [p for p in self._table.all() if p.spec.name in wanted and p.id not in ids]
        await self.start(extra)
        return extra

    async def stop(self, procs: list[ManagedProcess]) -> None:
        """Stop PROCS, dependants before what they depend on (each wave at once)."""
        for wave in self._waves(procs):
            await self._each(wave, ManagedProcess.stop)

    def _waves(self, procs: list[ManagedProcess]) -> list[list[ManagedProcess]]:
        return gate.stop_waves(procs, lambda p: p.spec.name, self._graph())

    def _graph(self) -> dict[str, dict[str, str]]:
        return gate.graph_of((p.spec.name, p.spec.depends_on) for p in self._table.all())

    # ---------------------------------------------------------------- the sink

    def __call__(self, event: Event) -> None:
        """After any change of state, look at the waiting processes again (once per loop
        turn, however many changed)."""
        if isinstance(event, StateChanged | Removed):
            self.recheck_soon()

    def recheck_soon(self) -> None:
        if self._due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a state published outside a loop: nothing can start anyway
            return
        self._due = True
        loop.call_soon(self._recheck)

    def _recheck(self) -> None:
        self._due = False
        if self._closing():
            return
        for proc in self._table.all():
            if proc.state is not ProcessState.WAITING:
                continue
            unmet = self.unmet(proc)
            if unmet:
                proc.still_waiting(unmet)
                continue
            start = proc.start(self.gate(proc), if_waiting=True)
            task = asyncio.get_running_loop().create_task(start)
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)
