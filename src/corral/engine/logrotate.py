"""Provides the file side of log rotation: names for rotated files, pruning, compression.

Rotated files sit beside the live one as `NAME__YYYY-MM-DD_HH-MM-SS-mmm.log` (`.gz` once
compressed), so they sort by time; the daemon rotates its own daemon.log with these too.
"""

from __future__ import annotations

import contextlib
import os
import time

ROTATED_STAMP = "%Y-%m-%d_%H-%M-%S"
FILE_MODE = 0o640
"""New log files: the user writes, the group (a log shipper) reads, nobody else."""


def rotated_files(path: str) -> list[str]:
    """Rotated siblings of PATH, oldest first (their names sort by time)."""
    folder, stem = os.path.split(path[:-4] if path.endswith(".log") else path)
    prefix = f"{stem}__"
    try:
        names = [n for n in os.listdir(folder or ".") if n.startswith(prefix)]
    except OSError:
        return []
    return [os.path.join(folder, n) for n in sorted(names)]


def rotated_name(path: str) -> str:
    """A name for the rotated file that sorts after every earlier one, whatever the clock."""
    stem = path[:-4] if path.endswith(".log") else path
    now = time.time()
    base = (
        f"{stem}__{time.strftime(ROTATED_STAMP, time.localtime(now))}-{int(now * 1000) % 1000:03d}"
    )
    existing = rotated_files(path)
    newest = os.path.basename(existing[-1]).removesuffix(".gz") if existing else ""
    candidate, n = f"{base}.log", 0
    # A counter after '_' sorts after the plain name ('.' < '_'), and after any newest name.
    while os.path.basename(candidate) <= newest or os.path.exists(candidate):
        n += 1
        candidate = f"{base}_{n:03d}.log"
    return candidate


def prune(path: str, keep: int) -> None:
    """Delete the oldest rotated siblings of PATH beyond KEEP."""
    old = rotated_files(path)
    for victim in old[: max(0, len(old) - keep)]:
        with contextlib.suppress(OSError):
            os.unlink(victim)


def compress_then_prune(rotated: str, path: str, keep: int) -> None:
    """gzip a rotated file off the hot path (a thread), then prune."""
    import gzip  # only with compress on: most daemons never rotate with it
    import shutil

    try:
        # O_EXCL | O_NOFOLLOW: a name planted beforehand (the stamp is predictable) fails.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        out = os.fdopen(os.open(rotated + ".gz.tmp", flags, FILE_MODE), "wb")
        with (
            open(rotated, "rb") as src,
            out,
            gzip.GzipFile(rotated, "wb", compresslevel=6, fileobj=out) as dst,
        ):
            shutil.copyfileobj(src, dst, 1024 * 1024)
        os.rename(rotated + ".gz.tmp", rotated + ".gz")
        os.unlink(rotated)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(rotated + ".gz.tmp")
    prune(path, keep)


def next_time(expression: str | None) -> float | None:
    """The next time EXPRESSION fires, or None (no interval, or no cron library)."""
    if not expression:
        return None
    daily = _daily(expression)
    if daily is not None:
        return _next_daily(*daily, time.time())
    try:
        from croniter import croniter  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return None
    fields = expression.split()
    try:
        it = croniter(expression, time.time(), second_at_beginning=len(fields) == 6)
        return float(it.get_next(float))
    except (ValueError, KeyError):
        return None


def _daily(expression: str) -> tuple[int, int] | None:
    """(hour, minute) when EXPRESSION is `M H * * *`, the default: no croniter needed.

    croniter brings dateutil and costs the daemon about 6 MiB of resident memory, for
    the one interval (midnight) nearly every log file has.
    """
    fields = expression.split()
    if len(fields) != 5 or fields[2:] != ["*", "*", "*"]:
        return None
    minute, hour = fields[0], fields[1]
    if not (minute.isdigit() and hour.isdigit()) or int(minute) > 59 or int(hour) > 23:
        return None
    return int(hour), int(minute)


def _next_daily(hour: int, minute: int, now: float) -> float:
    """The first HOUR:MINUTE UTC strictly after NOW, as croniter gives from a bare timestamp."""
    day, offset = 86400, hour * 3600 + minute * 60
    candidate = now - now % day + offset
    return float(candidate if candidate > now else candidate + day)
