"""Provides settle: after `start`, wait (bounded) until each new process is up or has failed.

A table printed the instant the daemon spawned the processes says `online` for an app
that dies half a second later on EADDRINUSE. So `start` watches the processes it started
until each has stayed online for its min_uptime (PM2's own line between a stable run and
a crash, 1 s by default), is errored or stopped, or crashed and is being restarted; then
it names the ones that failed, with how they ended and the last line they wrote to
stderr. One still launching when the wait ends (waiting for its readiness) is not a
failure: the table shows it as it is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

SETTLE_MS = 1000
"""Online this long without a restart counts as up, when the app's min_uptime is unknown."""
WAIT_S = 5.0
"""The longest `start` waits; processes still starting then are reported as starting."""
POLL_S = 0.1
"""Between two looks at the daemon's table (nothing to wait on but the table itself)."""
TAIL_BYTES = 8192

Row = dict[str, Any]


def settle(
    list_rows: Callable[[], list[Row]], started: list[Row], wait_s: float = WAIT_S
) -> tuple[list[Row], list[str]]:
    """The STARTED rows as they ended up, and one note per process that failed."""
    before = {row["id"]: row.get("restarts", 0) for row in started}
    deadline = time.monotonic() + wait_s
    while True:
        rows = [row for row in list_rows() if row["id"] in before]
        pending = [row for row in rows if _verdict(row, before[row["id"]]) is None]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    notes = []
    for row in rows:
        verdict = _verdict(row, before[row["id"]])
        if verdict is not None and verdict != "up":
            notes.append(f"{row['name']} ({row['id']}) {verdict}{_last_error(row)}")
    return rows, notes


def _verdict(row: Row, restarts_before: int) -> str | None:
    """ "up", a failure ("errored: …", "crashed: …"), or None while it is still settling."""
    status = row["status"]
    spec = row.get("spec") or {}
    reasons = row.get("reasons") or []
    cause: Row = next((r for r in reversed(reasons) if r.get("reason") != "errored"), {})
    by_probe = f"restarted by its liveness probe: {cause.get('detail')}"
    if status == "errored":
        # Errored by its liveness probe's restarts (max_restarts reached between two looks
        # on a busy machine): that is the news, not the signal the probe's restart sent.
        return (
            f"errored, {by_probe}" if cause.get("reason") == "liveness" else f"errored: {_how(row)}"
        )
    last = reasons[-1].get("reason") if reasons else None  # not watch, cron, memory
    if row.get("restarts", 0) > restarts_before and last == "liveness":
        return by_probe  # the last reason is the cause then
    if row.get("restarts", 0) > restarts_before and last == "crash":
        return f"crashed and is restarting: {_how(row)}"
    if status == "stopped":
        # Registered without starting (--no-autostart), or a one-shot that finished well.
        fine = spec.get("autostart", True) is False or row.get("exit_code") == 0
        return "up" if fine else f"stopped: {_how(row)}"
    if status == "completed":
        return "up"  # a one-shot that finished well
    if status == "waiting":
        return "up"  # waits for its dependencies: `list` says for what
    if status == "online":
        settle_ms = int(spec.get("min_uptime", SETTLE_MS) or 0)
        return "up" if row.get("uptime_ms", 0) >= settle_ms else None
    return None


def _how(row: Row) -> str:
    if row.get("exit_signal"):
        return f"killed by {row['exit_signal']}"
    if row.get("exit_code") is not None:
        return f"exited with code {row['exit_code']}"
    reasons = row.get("reasons") or []
    return str(reasons[-1].get("detail", "")) if reasons else "no exit status"


def _last_error(row: Row) -> str:
    """`: <the last line on stderr>` when the error log has one."""
    path = (row.get("logs") or {}).get("err") or (row.get("logs") or {}).get("combined")
    if not path:
        return ""
    try:
        with open(path, "rb") as file:
            file.seek(max(0, os.fstat(file.fileno()).st_size - TAIL_BYTES))
            lines = [ln for ln in file.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    last = last_error_line(lines)
    return f": {last}" if last else ""


def last_error_line(lines: list[str]) -> str:
    """The line that says what went wrong: the last one, unless an app that crash-loops is
    writing its next traceback right now, whose header and indented frames come first;
    then the end of the one before (`OSError: [Errno 98] Address already in use`)."""
    for line in reversed(lines):
        if line.strip() and not line[:1].isspace() and not line.startswith("Traceback ("):
            return line.strip()
    return lines[-1].strip() if lines else ""
