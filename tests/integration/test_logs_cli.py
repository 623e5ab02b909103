"""`corral logs`, `flush`, `reloadLogs` and SIGUSR2 against a real daemon."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from tests.helpers import APPS, Corral, ended_by_interrupt, wait_until

pytestmark = pytest.mark.timeout(90)
CHATTY = str(APPS / "chatty.py")


def test_history_merged_by_time_then_live_lines(corral: Corral) -> None:
    corral.ok("start", CHATTY, "--name", "chat", "--time", "--", "100000", "--interval", "0.02")
    err_log = Path(corral.root, "logs", "chat-error.log")
    # Five lines in the error log itself, not "err 50 was written": the daily rotation at
    # midnight moves the earlier ones aside (the suite once ran this at 00:00:00).
    wait_until(lambda: err_log.exists() and err_log.read_bytes().count(b": err ") >= 5)
    history = corral.ok("logs", "chat", "--nostream", "--lines", "5").splitlines()
    assert len(history) == 10  # 5 from each file, merged
    assert all(line.startswith("0|chat | ") for line in history)
    stamps = [line.split(" | ", 1)[1][:19] for line in history]
    assert stamps == sorted(stamps) and any(": err " in line for line in history)
    proc = corral.spawn("logs", "chat", "--lines", "0", "--out", "--grep", r"line \d+0$")
    seen: list[str] = []
    stdout = proc.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: seen.extend(stdout.readline() for _ in range(3)))
    reader.start()
    reader.join(30)
    assert len(seen) == 3, seen
    ended_by_interrupt(proc)
    assert all(line.startswith("0|chat | ") and line.rstrip().endswith("0") for line in seen)


def test_stopped_app_history_json_and_unknown_target(corral: Corral) -> None:
    corral.ok("start", CHATTY, "--name", "c", "--no-autorestart", "--", "3", "--exit")
    wait_until(lambda: '"completed"' in corral.ok("jlist"))  # a one-shot that exited 0
    out = corral.ok("logs", "c", "--nostream", "--raw", "--out")
    assert out.splitlines() == ["line 0", "line 1", "line 2", "done"]
    code, _, err = corral("logs", "nope", "--nostream")
    assert code == 1 and "nope" in err


def test_flush_reload_logs_and_sigusr2(corral: Corral) -> None:
    corral.ok("start", CHATTY, "--name", "c", "--", "100000", "--interval", "0.02")
    log = Path(corral.root, "logs", "c-out.log")
    wait_until(lambda: log.exists() and log.stat().st_size > 0)
    corral.ok("flush", "c")
    assert log.stat().st_size < 200  # emptied (a line or two may have come since)
    moved = log.with_name("c-out.log.1")
    log.rename(moved)
    corral.ok("reloadLogs")
    wait_until(lambda: log.exists() and log.stat().st_size > 0)
    log.rename(moved)
    os.kill(corral.pid(), signal.SIGUSR2)
    wait_until(lambda: log.exists() and log.stat().st_size > 0)
