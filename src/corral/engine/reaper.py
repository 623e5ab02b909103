"""Provides the Reaper: the one place this process collects its dead children.

The engine makes its process a child subreaper (PR_SET_CHILD_SUBREAPER), so descendants
that double-fork or call setsid stay inside its process tree: when their parent dies they
become its children, never init's. That makes a stop able to find them, and it means this
process must reap every zombie. One SIGCHLD handler calls waitpid(-1) until nothing is
left and hands each status to whoever registered that pid; unregistered pids (orphaned
descendants) are simply reaped.

Consequence: code that shares the process with a running engine must not wait for its own
children (subprocess.run would see ECHILD). Config loading runs before the engine starts.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
from collections.abc import Callable

PR_SET_CHILD_SUBREAPER = 36

ExitCallback = Callable[[int], None]
"""Receives the raw wait status of a registered child."""


def become_subreaper() -> bool:
    """Ask Linux to make this process the reaper of its orphaned descendants."""
    try:
        # The running program's own symbols, libc's among them: `ctypes.util.find_library`
        # would run `ldconfig -p` and load tempfile, shutil and random to do it.
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


class Reaper:
    """Waits for children on SIGCHLD and dispatches their exit status."""

    POLL_FALLBACK_S = 0.02
    """When SIGCHLD cannot be handled (engine not on the main thread), poll this often."""

    def __init__(self) -> None:
        self._waiters: dict[int, ExitCallback] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self.users = 0

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start handling SIGCHLD on LOOP (idempotent per loop; counted per user)."""
        self.users += 1
        if self._loop is loop:
            return
        self._loop = loop
        become_subreaper()
        try:
            loop.add_signal_handler(signal.SIGCHLD, self.reap)
        except (ValueError, RuntimeError, NotImplementedError):
            self._poller = loop.create_task(self._poll())
        self.reap()

    def uninstall(self) -> None:
        """Drop one user; the last one removes the handler."""
        self.users = max(0, self.users - 1)
        if self.users or self._loop is None:
            return
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        else:
            try:
                self._loop.remove_signal_handler(signal.SIGCHLD)
            except (ValueError, RuntimeError):
                pass
        self._loop = None

    def watch(self, pid: int, callback: ExitCallback) -> None:
        """Call CALLBACK with the wait status when PID exits.

        Register right after spawning, before yielding to the loop: reaping only runs in
        loop callbacks, so the child cannot be collected in between.
        """
        self._waiters[pid] = callback

    def reap(self) -> None:
        """Collect every dead child now; called on SIGCHLD and as a safety net."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            callback = self._waiters.pop(pid, None)
            if callback is not None:
                callback(status)

    def forget(self, pid: int) -> None:
        """Stop caring about PID (its process object is gone)."""
        self._waiters.pop(pid, None)

    async def _poll(self) -> None:
        while True:
            self.reap()
            await asyncio.sleep(self.POLL_FALLBACK_S)


REAPER = Reaper()
"""waitpid(-1) is process-wide, so there is exactly one reaper per process."""
