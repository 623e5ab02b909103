"""Scenario 3, log throughput: one app floods stdout with 1,000,000 numbered lines.

A chatty app must not make its manager drop, mangle or reorder lines, nor balloon its
memory. The writer is never the bottleneck: the whole output is precomputed once per
round and written in 1 MiB blocks, so the figure is the manager's pipe-to-file speed.
This module also serves the plain and stderr variants (`log_plain`, `log_stderr`).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from benchmarks.adapters.base import Session, ToolUnavailable
from benchmarks.sampling import PeakRss
from benchmarks.scenarios.base import WITH_SUPERVISORD, Context, Metric, Result, Scenario

FILLER = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"
"""46 bytes: with an 8-digit number, a space and the newline, a line is 56 bytes."""
PAYLOAD = 8 + 1 + len(FILLER)
STAMP = re.compile(rb"[0-9TZ:+. -]{10,40}")
"""A date prefix (`2026-11-27T23:40:01: ` and the like): digits and separators only, so
a line glued to another line's tail never passes for one."""
QUIET_S = 3.0
DEADLINE_S = 120.0
APPEAR_S = 30.0


def write_lines(path: Path, count: int) -> None:
    """The app's whole output: COUNT lines `00000000 abc…J`, in order."""
    with path.open("wb") as handle:
        for start in range(0, count, 100_000):
            stop = min(count, start + 100_000)
            handle.write(b"".join(b"%08d %s\n" % (i, FILLER) for i in range(start, stop)))


def read_tail(path: Path) -> tuple[int, bytes]:
    """(size, last 4 KiB) of PATH, or (-1, b"") while it does not exist (a rotation
    renames it away for a moment)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - 4096))
            return size, handle.read()
    except FileNotFoundError:
        return -1, b""


def wait_last_line(path: Path, last: bytes) -> float:
    """The time LAST was first seen at the end of PATH, or of its last growth.

    Polls every 5 ms (the tail only); gives up once the file has not grown for QUIET_S
    (lines were lost) or after DEADLINE_S.
    """
    began = time.time()
    deadline = began + DEADLINE_S
    size, changed = -1, began
    while time.time() < deadline:
        if size < 0 and time.time() - began > APPEAR_S:
            raise TimeoutError(f"{path} did not appear within {APPEAR_S:.0f} s")
        now = time.time()
        current, tail = read_tail(path)
        if current != size:
            size, changed = current, now
            if tail.endswith(last):
                return now
        elif size > 0 and now - changed > QUIET_S:
            return changed
        time.sleep(0.005)
    raise TimeoutError(f"{path.name}: still growing after {DEADLINE_S:.0f} s")


def with_rotated(path: Path) -> list[Path]:
    """PATH's rotated siblings (`NAME-out__DATE.log`, oldest first), then PATH itself.

    corral rotates at 10 MB by default (pm2-logrotate's defaults, built in), so a 56 MB
    burst spans several files; pm2 without the pm2-logrotate module writes one file.
    """
    return [*sorted(path.parent.glob(f"{path.stem}__*.log")), path]


def check(path: Path, count: int, stamped: bool) -> tuple[int, int, int]:
    """(missing, broken, out of order) lines of the log at PATH against the expected."""
    seen = bytearray(count)
    broken = disorder = 0
    previous = -1
    for part in with_rotated(path):
        for raw in part.read_bytes().splitlines(keepends=True):
            line = raw.rstrip(b"\n")
            body, prefix = line[-PAYLOAD:], line[:-PAYLOAD]
            ok_prefix = STAMP.fullmatch(prefix.rstrip(b": ")) if stamped else not prefix
            if (
                not ok_prefix
                or len(body) != PAYLOAD
                or body[8:9] != b" "
                or body[9:] != FILLER
                or not body[:8].isdigit()
            ):
                broken += 1
                continue
            number = int(body[:8])
            if number >= count:
                broken += 1
                continue
            seen[number] = 1
            if number < previous:
                disorder += 1
            previous = max(previous, number)
    return count - sum(seen), broken, disorder


class LogThroughput(Scenario):
    """A burst of COUNT lines on one stream, with or without a timestamp per line."""

    needs_daemon = True
    full_rounds = 3
    peers = WITH_SUPERVISORD

    def __init__(self, key: str, full: int, quick: int, stamped: bool, stream: str) -> None:
        self.key, self.full, self.quick, self.stamped, self.stream = (
            key,
            full,
            quick,
            stamped,
            stream,
        )
        what = f"{full // 1000}k lines to {'stderr' if stream == 'error' else 'stdout'}"
        what += ", timestamps" if stamped else ", no timestamps"
        self.title = f"Log throughput ({what})"
        short = f"logs {'stderr' if stream == 'error' else 'stdout'}"
        short += " +time" if stamped else ""
        self.metrics = (
            Metric("rate", f"{short}: lines/s, {full // 1000}k-line burst", "lines/s", "higher", 0),
            Metric("lost", f"{short}: lines missing", "", "lower", 0),
            Metric("broken", f"{short}: lines broken", "", "lower", 0),
            Metric("disorder", f"{short}: lines out of order", "", "lower", 0),
            Metric("rss", f"{short}: daemon peak RSS during the burst", "MB", "lower", 1),
        )
        self.notes = (
            f"One app writes {full:,} numbered 56-byte lines ({quick:,} in quick mode) to "
            f"{'stderr' if stream == 'error' else 'stdout'}: the whole output is generated "
            "into a file before the round and the app writes it with 1 MiB `os.write` "
            "calls, so the writer is not the bottleneck. "
            + (
                "Timestamps on (corral `time = true`, pm2 `time: true`). "
                if stamped
                else "No timestamps. "
            )
            + (
                "supervisord cannot timestamp lines, so it is n/a here. "
                if stamped
                else "supervisord: `stdout_logfile`/`stderr_logfile` in the same layout. "
            )
            + "Clock: from the app's own time just before its first write to the moment "
            f"the last line is seen at the end of `logs/NAME-{stream}.log` (polled every "
            "5 ms; if it never comes, the last growth of the file after 3 s of quiet). "
            "Then every line is checked: missing (number never seen), broken (not "
            "exactly the expected content after stripping a date prefix of digits and "
            "separators), out of order (number below one already seen). Daemon RSS: "
            "psutil every 50 ms on the daemon pid during the burst, the maximum. "
            "corral rotates its logs at 10 MB by default (pm2-logrotate's defaults, built "
            "in; pm2 itself does not rotate without that module), so the check reads the "
            "rotated files too, oldest first; supervisord gets `*_logfile_maxbytes=0` (no "
            "rotation). "
            "3 rounds in full mode (the burst is long for pm2)."
        )

    def measure(self, session: Session, ctx: Context) -> Result:
        count = ctx.pick(self.full, self.quick)
        data, t0_file = ctx.workdir / "lines.txt", ctx.workdir / "t0"
        write_lines(data, count)
        flags = ("--stderr",) if self.stream == "error" else ()
        app = ctx.app("blaster", "blaster.py", str(data), str(t0_file), *flags, time=self.stamped)
        ecosystem = session.write_ecosystem([app], ctx.workdir)
        session.boot()
        pid = session.daemon_pid()
        if pid is None:
            raise ToolUnavailable("no daemon pid file after `ping`")
        log = session.log_path("blaster", self.stream)
        with PeakRss(pid) as peak:
            session.start(ecosystem)
            end = wait_last_line(log, b"%08d %s\n" % (count - 1, FILLER))
        t0 = float(t0_file.read_text())
        lost, broken, disorder = check(log, count, self.stamped)
        return {
            "rate": count / max(end - t0, 1e-6),
            "lost": float(lost),
            "broken": float(broken),
            "disorder": float(disorder),
            "rss": peak.mb,
        }


SCENARIO = LogThroughput("log_throughput", 1_000_000, 20_000, stamped=True, stream="out")
