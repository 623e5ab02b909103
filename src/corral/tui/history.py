"""Provides `recent_lines`: the end of a process's log files, so the tail opens full.

`pm2 monit` shows only what arrives after it starts (an empty pane for a quiet app);
reading the last lines of each file at start-up fixes that. Reads go backwards from the
end in blocks, so a 10 GB file costs the same as a 10 KB one. Blocking I/O: the app
calls this from a thread worker.

A file keeps what the config asked it to keep, and the records keep all of it: the
stamp of `time`/`log_date_format`, the instance, stream and time of a `log_type = "json"`
object (rendered like a live line, never as raw JSON). A merged file written by several
instances does not say which one wrote a plain line, so no instance is claimed for it.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from corral.config.spec import AppSpec
from corral.engine.logfiles import log_paths, merged
from corral.tui.logtext import clean
from corral.tui.records import Kind, LogRecord

BLOCK = 64 * 1024

_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)")
_TIME = re.compile(r"\b(\d\d):(\d\d):(\d\d)\b")


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


def parse_stamp(text: str, today: float | None = None) -> float | None:
    """The time in a stamp such as `2026-12-05T10:01:02` or `10:01:02` (local), if any.

    A stamp with a time of day and no date is taken as today's (TODAY: now, for tests).
    """
    found = _DATE.search(text)
    if found:
        y, mo, d, h, mi, s = (int(g) for g in found.groups())
        return time.mktime((y, mo, d, h, mi, s, 0, 0, -1))
    clock = _TIME.search(text)
    if clock is None:
        return None
    day = time.localtime(time.time() if today is None else today)
    h, mi, s = (int(g) for g in clock.groups())
    return time.mktime((day.tm_year, day.tm_mon, day.tm_mday, h, mi, s, 0, 0, -1))


def _from_json(line: str, app: str, pm_id: int | None, kind: Kind) -> LogRecord | None:
    try:
        data: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or "message" not in data:
        return None
    stamp = data.get("timestamp")
    written = data.get("process_id")
    stream = data.get("type")
    return LogRecord(
        parse_stamp(stamp) if isinstance(stamp, str) else None,
        str(data.get("app_name") or app),
        written if isinstance(written, int) else pm_id,
        "err" if stream == "err" else "out" if stream == "out" else kind,
        clean(str(data["message"])),
        earlier=True,
    )


def _from_text(line: str, app: str, pm_id: int | None, kind: Kind, stamped: bool) -> LogRecord:
    ts = None
    if stamped and ": " in line:
        # `time = true` / `log_date_format` prefix every line with `STAMP: `.
        head, rest = line.split(": ", 1)
        ts = parse_stamp(head)
        if ts is not None:
            line = rest
    return LogRecord(ts, app, pm_id, kind, clean(line), earlier=True)


def to_records(lines: list[str], spec: AppSpec, pm_id: int | None, kind: Kind) -> list[LogRecord]:
    """LINES of one of SPEC's files as records (PM_ID None: the writer is not known)."""
    stamped = bool(spec.log_date_format or spec.time)
    out = []
    for line in lines:
        record = _from_json(line, spec.name, pm_id, kind) if spec.log_type == "json" else None
        out.append(record or _from_text(line, spec.name, pm_id, kind, stamped))
    return out


def recent_lines(
    spec: AppSpec, pm_id: int, home: str, count: int, seen: set[str] | None = None
) -> list[LogRecord]:
    """Up to COUNT records from the end of PM_ID's stdout file, then its stderr file.

    Files without stamps hold no time per line, so the two streams cannot be interleaved
    faithfully; showing them one after the other at least keeps each in order. When
    every line has a time, the two are merged by it. Paths in SEEN are skipped and added
    to it: instances of an app may share merged files.
    """
    paths = log_paths(spec, pm_id, home)
    seen = set() if seen is None else seen
    writer = None if merged(spec) and spec.instances > 1 else pm_id
    out: list[LogRecord] = []
    streams: tuple[tuple[str | None, Kind, int], ...] = (
        (paths.out, "out", count),
        (paths.err, "err", count // 4),
    )
    for path, kind, wanted in streams:
        if path is None or path in seen:
            continue
        seen.add(path)
        out += to_records(tail_file(path, max(1, wanted)), spec, writer, kind)
    if out and all(record.ts is not None for record in out):
        out.sort(key=lambda record: record.ts or 0.0)
    return out
