"""Provides `log`: one timestamped entry on the daemon's stderr (which is daemon.log).

Not the `logging` module: the daemon writes a handful of lines and keeps its imports lean.
Every entry starts with its time stamp and every further line of it (a traceback) with
two spaces, and control characters are escaped: text that came from an app or a client
(a name with a newline, a carriage return, a terminal escape) cannot forge an entry.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time

MAX_SIZE = 10 * 1024 * 1024
RETAIN = 5
_path: str | None = None

_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_OR_NEWLINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """TEXT on one line: every control character, newlines included, as an escape."""
    return _CONTROL_OR_NEWLINE.sub(_escape, text)


def configure(path: str) -> None:
    """Rotate PATH (the file our stdout and stderr point at) once it grows past MAX_SIZE."""
    global _path
    _path = path


def log(message: str) -> None:
    """Write MESSAGE to daemon.log, stamped with local time and milliseconds."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
    try:
        text = _CONTROL.sub(_escape, message).replace("\n", "\n  ")
        sys.stderr.write(f"{stamp} {text}\n")
        sys.stderr.flush()
        _rotate_if_big()
    except (OSError, ValueError):
        pass  # a full disk or a closed log must not take the daemon down


def _rotate_if_big() -> None:
    """daemon.log rotates like app logs: rename aside, reopen on fds 1 and 2, prune."""
    if _path is None or os.fstat(2).st_size < MAX_SIZE:
        return
    from corral.engine.logrotate import prune, rotated_name

    os.rename(_path, rotated_name(_path))
    fd = os.open(_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with contextlib.suppress(OSError):
        os.dup2(fd, 1)
        os.dup2(fd, 2)
    os.close(fd)
    prune(_path, RETAIN)
