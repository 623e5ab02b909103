"""Provides `recent_lines`: the end of a process's log files, so the tail opens full.

`pm2 monit` shows only what arrives after it starts (an empty pane for a quiet app);
reading the last lines of each file at start-up fixes that. Reads go backwards from the
end in blocks, so a 10 GB file costs the same as a 10 KB one. Blocking I/O: the app
calls this from a thread worker.
"""

from __future__ import annotations

import os

from corral.config.spec import AppSpec
from corral.engine.logfiles import log_paths
from corral.tui.logtext import HISTORY_STAMP, MARK_ERR, MARK_OUT, format_lines

BLOCK = 64 * 1024


def tail_file(path: str, count: int) -> list[str]:
    """The last COUNT lines of PATH (decoded leniently); empty if it cannot be read."""
    if count <= 0:
        return []
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        end = os.fstat(fd).st_size
        data = b""
        pos = end
        while pos > 0 and data.count(b"\n") <= count:
            step = min(BLOCK, pos)
            pos -= step
            data = os.pread(fd, step, pos) + data
    except OSError:
        return []
    finally:
        os.close(fd)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if pos > 0 and lines:
        lines.pop(0)  # the first one is probably cut
    return [line.decode("utf-8", "replace") for line in lines[-count:]]


def recent_lines(
    spec: AppSpec, pm_id: int, home: str, count: int, seen: set[str] | None = None
) -> list[str]:
    """Up to COUNT display lines from the end of PM_ID's stdout file, then its stderr file.

    The files hold no read time per line, so the two streams cannot be interleaved
    faithfully; showing them one after the other at least keeps each in order. Paths in
    SEEN are skipped and added to it: instances of an app may share merged files.
    """
    paths = log_paths(spec, pm_id, home)
    seen = set() if seen is None else seen
    out: list[str] = []
    for path, mark, wanted in ((paths.out, MARK_OUT, count), (paths.err, MARK_ERR, count // 4)):
        if path is None or path in seen:
            continue
        seen.add(path)
        lines = tail_file(path, max(1, wanted))
        out += format_lines(HISTORY_STAMP, spec.name, pm_id, mark, lines)
    return out
