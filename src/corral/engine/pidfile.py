"""Provides the pid files of `pid_file` (PM2's `-p/--pid`): written at each spawn, removed at exit.

Other tools (monit, logrotate's postrotate, a shell script) find a process through such a
file, so it must name the current run and vanish when the run ends: PM2 writes it when a
process starts and unlinks it when the process exits, for whatever reason. Its naming is
kept too, so scripts written for PM2 find the same file: `FILE.pid` becomes `FILE-<id>.pid`
(one per process), any other name is used as given.
"""

from __future__ import annotations

import contextlib
import os
import re

_PID_SUFFIX = re.compile(r"(-[0-9]+)?\.pid$")


def path_for(configured: str, pm_id: int) -> str | None:
    """Where process PM_ID writes its pid, or None when nothing is to be written."""
    if configured == os.devnull:
        return None  # `pid_file = "NULL"`: never write, and above all never unlink /dev/null
    return _PID_SUFFIX.sub(f"-{pm_id}.pid", configured)


def write(path: str, pid: int) -> str | None:
    """Write PID to PATH (atomically, so a reader never sees half a number); the error, if any."""
    partial = f"{path}.{os.getpid()}.tmp"
    try:
        with open(partial, "w", encoding="ascii") as handle:
            handle.write(f"{pid}\n")
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        return f"cannot write the pid file {path}: {exc.strerror or exc}"
    return None


def remove(path: str, pid: int) -> None:
    """Remove PATH if it still names PID (another run or another program may own it by now)."""
    try:
        with open(path, encoding="ascii") as handle:
            written = handle.read().strip()
    except OSError:
        return
    if written == str(pid):
        with contextlib.suppress(OSError):
            os.unlink(path)
