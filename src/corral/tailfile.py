"""Provides `tail`: the last lines of a log file, read backwards in blocks.

A stdlib-only leaf: `corral logs` reads history with it on this machine, and the daemon
with it for `logs --host`, where the files are on the daemon's machine. A symlink in
the file's place is not followed (corral never writes through one either).
"""

from __future__ import annotations

import os

BLOCK = 64 * 1024


def tail(path: str, count: int, limit: int = 16 * 1024 * 1024) -> list[bytes]:
    """The last COUNT lines of PATH, at most LIMIT bytes of them ([] when unreadable)."""
    if count <= 0:
        return []
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        end = os.lseek(fd, 0, os.SEEK_END)
        data = b""
        while end > 0 and data.count(b"\n") <= count and len(data) < limit:
            start = max(0, end - BLOCK)
            data = os.pread(fd, end - start, start) + data
            end = start
    except OSError:
        return []
    finally:
        os.close(fd)
    lines = data.splitlines()[-count:]
    while lines and sum(map(len, lines)) > limit:
        lines.pop(0)
    return lines
