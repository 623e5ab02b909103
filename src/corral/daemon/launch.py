"""Provides `connect`: reach the daemon, starting it first when nobody answers.

Runs in the CLI, never in the daemon (the engine reaps every child with waitpid(-1)).
Starting happens under an flock on daemon.lock, and the socket is tried again once the
lock is held, so any number of concurrent CLIs start exactly one daemon.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time

from corral.daemon.client import Client, NotRunning
from corral.home import Home

START_TIMEOUT_S = 15.0
POLL_S = 0.01


class LaunchError(RuntimeError):
    """The daemon did not come up; the message carries the end of daemon.log."""


def connect_or_start(where: Home, timeout: float = START_TIMEOUT_S) -> Client:
    """A connected Client; starts the daemon when none answers."""
    try:
        return Client.connect(where)
    except NotRunning:
        pass
    where.ensure()
    lock_fd = os.open(where.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            return Client.connect(where)  # another CLI started it while we waited
        except NotRunning:
            pass
        stale = where.daemon_pid()  # left by a daemon that was SIGKILLed
        spawn(where, timeout)
        return _wait_for(where, time.monotonic() + timeout, stale)
    finally:
        os.close(lock_fd)  # closing releases the lock


def optimize_flags() -> list[str]:
    """`-OO` for the daemon where its bytecode for that level is cached or can be: without
    docstrings the daemon stays about 0.7 MiB smaller for its whole life (issue 19); its
    asserts only narrow types. Where those `.opt-2.pyc` files are missing and will not be
    written (a read-only install, PYTHONDONTWRITEBYTECODE), every start would compile
    every module again: no flag then (`python -OO -m compileall` on the install fixes it)."""
    import importlib.util

    # Paths, not imports: the CLI that starts the daemon never loads asyncio for this.
    daemon_main = os.path.join(os.path.dirname(__file__), "main.py")  # corral.daemon.main
    base_events = os.path.join(os.path.dirname(os.__file__), "asyncio", "base_events.py")
    for source in (daemon_main, base_events):
        cached = importlib.util.cache_from_source(source, optimization=2)
        if os.path.exists(cached):
            continue
        folder = os.path.dirname(cached)
        if sys.dont_write_bytecode or not os.access(os.path.dirname(folder), os.W_OK):
            return []
    return ["-OO"]


def spawn(where: Home, timeout: float = START_TIMEOUT_S) -> None:
    """Start `python -m corral.daemon`, detached; returns once it has forked."""
    log_fd = os.open(where.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        launcher = subprocess.Popen(
            [sys.executable, *optimize_flags(), "-m", "corral.daemon", "--home", where.root],
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            start_new_session=True,
            close_fds=True,
            cwd=where.root,
        )
    finally:
        os.close(log_fd)
    try:
        code = launcher.wait(timeout)
    except subprocess.TimeoutExpired:
        launcher.kill()
        launcher.wait()
        raise LaunchError(f"the daemon did not start in {timeout:.0f} s{_tail(where)}") from None
    if code != 0:
        raise LaunchError(f"the daemon failed to start (exit {code}){_tail(where)}")


def _wait_for(where: Home, deadline: float, stale: int | None) -> Client:
    while True:
        try:
            return Client.connect(where)
        except NotRunning:
            pass
        pid = where.daemon_pid()
        if pid is not None and pid != stale and not _alive(pid):
            raise LaunchError(f"the daemon exited during start-up{_tail(where)}")
        if time.monotonic() > deadline:
            raise LaunchError(f"the daemon did not answer on {where.socket}{_tail(where)}")
        time.sleep(POLL_S)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(where: Home, lines: int = 10) -> str:
    try:
        with open(where.log, errors="replace") as handle:
            text = handle.read().splitlines()[-lines:]
    except OSError:
        return ""
    return ("; see " + where.log + ":\n  " + "\n  ".join(text)) if text else ""
