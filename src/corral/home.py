"""Provides where corral keeps its files under $CORRAL_HOME: engine, daemon and CLI share it.

A stdlib-only leaf that avoids even pathlib and dataclasses: the CLI resolves the socket
path on every command, and `corral jlist` has 100 ms in all.
"""

from __future__ import annotations

import os


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> str:
    """EXPLICIT, else $CORRAL_HOME, else ~/.corral (absolute)."""
    raw = os.fspath(explicit) if explicit else os.environ.get("CORRAL_HOME") or "~/.corral"
    return os.path.abspath(os.path.expanduser(raw))


class Home:
    """The daemon's files in one home folder (all paths absolute strings)."""

    __slots__ = ("lock", "log", "logs", "pid_file", "root", "socket")

    def __init__(self, root: str) -> None:
        self.root = root
        self.socket = os.path.join(root, "rpc.sock")
        """The RPC socket (mode 0600)."""
        self.pid_file = os.path.join(root, "daemon.pid")
        """The daemon's pid; the daemon holds an exclusive flock on it while it lives."""
        self.log = os.path.join(root, "daemon.log")
        """The daemon's own stdout and stderr."""
        self.lock = os.path.join(root, "daemon.lock")
        """Taken by a CLI while it starts a daemon, so two CLIs never start two."""
        self.logs = os.path.join(root, "logs")
        """Where app logs go by default."""

    def __repr__(self) -> str:
        return f"Home({self.root!r})"

    def ensure(self) -> Home:
        """Create the folder private to the user (0700), with logs/ inside."""
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        os.chmod(self.root, 0o700)
        os.makedirs(self.logs, mode=0o700, exist_ok=True)
        return self

    def daemon_pid(self) -> int | None:
        """The pid written in daemon.pid, if any (the process may be gone)."""
        try:
            with open(self.pid_file) as handle:
                text = handle.read().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None


def home(explicit: str | os.PathLike[str] | None = None) -> Home:
    """The Home for EXPLICIT or the environment's default (not created)."""
    return Home(resolve_home(explicit))
