"""Provides where corral keeps its files under $CORRAL_HOME: engine, daemon and CLI share it.

A stdlib-only leaf that avoids even pathlib and dataclasses: the CLI resolves the socket
path on every command, and `corral jlist` has 100 ms in all.
"""

from __future__ import annotations

import os
import stat
import sys

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

HOME_MODE = 0o700
FILE_MODE = 0o600
"""Everything in the home but app logs: dumps hold every app's environment."""


def _to_stderr(message: str) -> None:
    print(f"corral: {message}", file=sys.stderr)


_report: Callable[[str], None] = _to_stderr


def report_modes_to(report: Callable[[str], None]) -> None:
    """Where `keep_mode` says it fixed a mode (the daemon: daemon.log; default stderr)."""
    global _report
    _report = report


def keep_mode(path: str, mode: int) -> None:
    """Give PATH the permission bits MODE again if someone changed them, and say so.

    A mode changed by mistake (a `chmod -R`, a backup restored as 0644) would otherwise
    stay: every writer of corral's private files calls this whenever it writes them.
    Links and missing paths are left alone; a path we may not chmod is reported.
    """
    try:
        info = os.lstat(path)
        old = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode) or old == mode:
            return
        os.chmod(path, mode)
    except FileNotFoundError:
        return
    except OSError as exc:
        _report(f"{path} has mode {old:04o}, not {mode:04o}, and cannot be fixed: {exc}")
        return
    _report(f"{path} had mode {old:04o}; set back to {mode:04o}")


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
        os.makedirs(self.root, mode=HOME_MODE, exist_ok=True)
        keep_mode(self.root, HOME_MODE)
        os.makedirs(self.logs, mode=HOME_MODE, exist_ok=True)
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
