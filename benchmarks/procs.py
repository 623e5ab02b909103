"""Provides process bookkeeping for the runner: track every pid, kill them all at the end.

A benchmark that leaks a daemon or a stubborn grandchild poisons every later figure
(and the machine of whoever runs it), so each session records what it saw and kills
it by pid, never by name. psutil.Process remembers each process's start time, so a pid
the kernel has since reused is never touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable

import psutil

POLL_S = 0.01


class Tracker:
    """Processes a session started or learned of, for cleanup by pid."""

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}
        self._groups: set[int] = set()

    def add(self, pid: int) -> None:
        """Remember PID (ignored if it is already gone)."""
        if pid in self._procs:
            return
        with contextlib.suppress(psutil.Error):
            self._procs[pid] = psutil.Process(pid)

    def add_tree(self, pid: int) -> None:
        """Remember PID and every descendant it has now."""
        self.add(pid)
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(pid).children(recursive=True):
                self.add(child.pid)

    def add_all(self, pids: Iterable[int | None]) -> None:
        """Remember each pid given (None entries are skipped)."""
        for pid in pids:
            if pid:
                self.add(pid)

    def add_group(self, pgid: int) -> None:
        """Remember a process group the runner created (killed as a whole at the end)."""
        self._groups.add(pgid)

    def alive(self) -> list[psutil.Process]:
        """Tracked processes still running (zombies count as gone)."""
        return [p for p in self._procs.values() if is_alive(p)]

    def kill_all(self) -> list[int]:
        """SIGKILL every tracked process and group still alive; return the pids killed."""
        killed = []
        for pgid in self._groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        for proc in self.alive():
            with contextlib.suppress(psutil.Error):
                proc.kill()
                killed.append(proc.pid)
        self._procs.clear()
        self._groups.clear()
        return killed


def is_alive(proc: psutil.Process) -> bool:
    """True when PROC is the same process as when recorded and is not a zombie."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def pid_alive(pid: int) -> bool:
    """True when PID names a live, non-zombie process."""
    try:
        return is_alive(psutil.Process(pid))
    except psutil.Error:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll PREDICATE until it holds; return the wait in seconds, or raise TimeoutError.

    Polling a file or /proc every 10 ms costs the measured tools almost nothing, unlike
    asking them (a `pm2 jlist` costs ~0.3 s of CPU).
    """
    t0 = time.perf_counter()
    deadline = t0 + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(POLL_S)
    return time.perf_counter() - t0
