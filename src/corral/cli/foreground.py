"""Provides Foreground: `corral up --no-ui`, the engine in this process printing its events.

It is PM2-runtime's role (containers, systemd units, a tmux pane): SIGINT, SIGTERM and
SIGHUP stop every app gracefully, then it exits 0; a second SIGINT kills them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from corral.cli.printer import EventPrinter
from corral.engine import Supervisor
from corral.engine.events import StateChanged
from corral.engine.states import ProcessState
from corral.engine.tree import end_descendants

if TYPE_CHECKING:
    from corral.config.spec import AppSpec
    from corral.engine.events import Event

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""SIGHUP too: the terminal closed (ssh dropped, `tmux kill-session`). Dying of it would
leave every app running under PID 1, holding its ports; stopping them is what a user wants."""


class Foreground:
    """`up --no-ui`: supervise APPS in this process, print their events, stop on a signal.

    The first stop signal stops every app gracefully and then exits; a second SIGINT while
    that runs kills them at once (exit 130). With auto_exit it also ends once every app is
    stopped or errored (1 if any errored, unless a signal asked for the end).
    """

    IDLE = frozenset({ProcessState.STOPPED, ProcessState.ERRORED, ProcessState.COMPLETED})

    def __init__(self, *, json_lines: bool, auto_exit: bool) -> None:
        self.printer = EventPrinter(sys.stdout, json_lines=json_lines)
        self.auto_exit = auto_exit
        self.supervisor = Supervisor()
        self.done = asyncio.Event()
        self.interrupts = 0
        """Stop signals received so far."""
        self.started = False
        """Every app was added: from now on, all idle means done."""
        self._flush_pending = False

    async def run(self, apps: Sequence[AppSpec]) -> int:
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self.on_signal, signum)
        self.supervisor.add_sink(self.on_event)
        async with self.supervisor:
            await self.supervisor.add(apps)
            self.started = True
            if self.auto_exit and self._all_idle():
                self.done.set()
            await self.done.wait()
            errored = any(p.state is ProcessState.ERRORED for p in self.supervisor.processes())
            # Leaving the block closes the supervisor: every app stops, errored ones stay so.
        await end_descendants()  # and whatever escaped every app's tree goes too
        self._flush()
        if self.interrupts > 1:
            return 130
        return 1 if errored and self.interrupts == 0 else 0

    def _all_idle(self) -> bool:
        """Nothing runs and nothing will: a process still waiting for its dependencies
        counts only when something of them does not hold (it would start otherwise)."""
        return all(
            p.state in self.IDLE or (p.state is ProcessState.WAITING and self.supervisor.unmet(p))
            for p in self.supervisor.processes()
        )

    def on_event(self, event: Event) -> None:
        try:
            self.printer(event)
        except BrokenPipeError:
            # The reader left (`| head`): keep supervising, print nowhere from now on.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise
        if not self._flush_pending:
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)
        if self.auto_exit and self.started and isinstance(event, StateChanged) and self._all_idle():
            self.done.set()

    def _flush(self) -> None:
        self._flush_pending = False
        with contextlib.suppress(OSError, ValueError):  # a reader that left is not fatal
            sys.stdout.flush()

    def on_signal(self, signum: int) -> None:
        self.interrupts += 1
        if self.interrupts == 1:
            with contextlib.suppress(OSError, ValueError):  # after SIGHUP the tty may be gone
                print(
                    f"[corral] {signal.Signals(signum).name}: stopping every app "
                    "(Ctrl-C again to kill at once)",
                    file=sys.stderr,
                    flush=True,
                )
            self.done.set()
        elif signum == signal.SIGINT:
            # The graceful stop is still under way; killing every tree lets it end now.
            self.supervisor.kill_now()
