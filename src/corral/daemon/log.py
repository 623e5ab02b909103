"""Provides `log`: one timestamped line on the daemon's stderr (which is daemon.log).

Not the `logging` module: the daemon writes a handful of lines and keeps its imports lean.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

MAX_SIZE = 10 * 1024 * 1024
RETAIN = 5
_path: str | None = None


def configure(path: str) -> None:
    """Rotate PATH (the file our stdout and stderr point at) once it grows past MAX_SIZE."""
    global _path
    _path = path


def log(message: str) -> None:
    """Write MESSAGE to daemon.log, stamped with local time and milliseconds."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
    try:
        sys.stderr.write(f"{stamp} {message}\n")
        sys.stderr.flush()
        _rotate_if_big()
    except (OSError, ValueError):
        pass  # a full disk or a closed log must not take the daemon down


def _rotate_if_big() -> None:
    """daemon.log rotates like app logs: rename aside, reopen on fds 1 and 2, prune."""
    if _path is None or os.fstat(2).st_size < MAX_SIZE:
        return
    from corral.engine.logfiles import prune, rotated_name

    os.rename(_path, rotated_name(_path))
    fd = os.open(_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with contextlib.suppress(OSError):
        os.dup2(fd, 1)
        os.dup2(fd, 2)
    os.close(fd)
    prune(_path, RETAIN)
