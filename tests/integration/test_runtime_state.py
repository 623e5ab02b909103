"""Runtime state is state: a watched app keeps watching and a cron keeps firing across
`kill` + `resurrect` (a reboot), a kill -9 of the daemon (crash recovery) and `update`;
an app the user stopped stays stopped, its watch and cron paused.

Each test starts the same three apps through the CLI, replaces the daemon one way, then
touches the watched file and waits for the cron.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SLEEPER, Corral, gone, unlocked, wait_until

pytestmark = pytest.mark.timeout(90)
EVERY_SECOND = "* * * * * *"
QUIET_S = 2.5
"""How long a paused app is watched staying stopped: the watch delay (0.1 s) and two cron
times pass in it, with room for a loaded machine."""


def rows(corral: Corral) -> dict[str, dict[str, Any]]:
    return {str(r["name"]): r for r in corral.rows()}


def causes(row: dict[str, Any], reason: str) -> int:
    return sum(r["reason"] == reason for r in row["reasons"])


def setup(corral: Corral, tmp_path: Path) -> Path:
    """w watches a folder, c restarts every second, p watches too but was stopped."""
    folder = tmp_path / "src"
    folder.mkdir()
    watched = ("--watch", str(folder), "--watch-delay", "100")
    corral.ok("start", SLEEPER, "--name", "w", *watched)
    corral.ok("start", SLEEPER, "--name", "c", "--cron", EVERY_SECOND)
    corral.ok("start", SLEEPER, "--name", "p", *watched, "--cron", EVERY_SECOND)
    corral.ok("stop", "p")
    now = rows(corral)
    assert now["w"]["watch"] is True and now["c"]["next_cron"] is not None
    wait_until(lambda: _saved(corral), what="the dump to hold the runtime state")
    return folder


def _saved(corral: Corral) -> bool:
    """The autosaved dump holds the three apps, p stopped (and so paused)."""
    try:
        apps = {
            a["name"]: a for a in json.loads(Path(corral.root, "dump.json").read_text())["apps"]
        }
    except (FileNotFoundError, ValueError):
        return False
    return len(apps) == 3 and apps["p"]["status"] == "stopped"


def still_working(corral: Corral, folder: Path) -> None:
    """After the daemon was replaced: jlist tells the truth, and both triggers act."""
    now = rows(corral)
    assert now["w"]["status"] == "online" and now["w"]["watch"] is True
    assert now["c"]["next_cron"] is not None
    assert now["p"]["status"] == "stopped" and now["p"]["watch"] is False
    assert now["p"]["next_cron"] is None
    watch_before, cron_before = causes(now["w"], "watch"), causes(now["c"], "cron")
    (folder / "app.cfg").write_text("changed")
    wait_until(lambda: causes(rows(corral)["w"], "watch") > watch_before, what="a watch restart")
    wait_until(lambda: causes(rows(corral)["c"], "cron") > cron_before, what="a cron restart")
    assert rows(corral)["p"]["status"] == "stopped"  # the change and the crons passed it by


@pytest.mark.slow
def test_resurrect_keeps_watch_and_cron(corral: Corral, tmp_path: Path) -> None:
    folder = setup(corral, tmp_path)
    corral.ok("kill")
    corral.ok("resurrect")
    still_working(corral, folder)


def test_crash_recovery_keeps_watch_and_cron(corral: Corral, tmp_path: Path) -> None:
    folder = setup(corral, tmp_path)
    old = corral.pid()
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: gone(old) and unlocked(corral.home.pid_file), what="its death")
    code, _out, err = corral("list")
    assert code == 0 and "had died" in err, err
    still_working(corral, folder)


def test_update_keeps_watch_and_cron(corral: Corral, tmp_path: Path) -> None:
    folder = setup(corral, tmp_path)
    ids = {name: row["id"] for name, row in rows(corral).items()}
    corral.ok("update")
    assert {name: row["id"] for name, row in rows(corral).items()} == ids  # same log files
    still_working(corral, folder)


@pytest.mark.slow
def test_stop_then_start_through_the_daemon_pauses_and_resumes(
    corral: Corral, tmp_path: Path
) -> None:
    """The issue's first two bugs: `stop` left watch and cron running in the daemon."""
    folder = setup(corral, tmp_path)
    assert rows(corral)["p"]["watch"] is False and rows(corral)["p"]["next_cron"] is None
    corral.ok("stop", "w", "c")
    (folder / "app.cfg").write_text("changed")
    _stays(lambda: all(rows(corral)[n]["status"] == "stopped" for n in "wc"), QUIET_S)
    now = rows(corral)
    assert now["w"]["watch"] is False and now["c"]["next_cron"] is None
    corral.ok("start", "w", "c")
    still_working(corral, folder)


def _stays(check: Callable[[], bool], seconds: float) -> None:
    """CHECK holds for SECONDS (the point: nothing happens meanwhile)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert check()
        time.sleep(0.05)


def test_an_app_registered_without_autostart_gets_watch_and_cron_once_started(
    corral: Corral, tmp_path: Path
) -> None:
    """The issue's fourth bug: started through the daemon, it got no watcher and no cron."""
    folder = tmp_path / "src"
    folder.mkdir()
    watched = ("--watch", str(folder), "--watch-delay", "100")
    corral.ok("start", SLEEPER, "--name", "late", "--no-autostart", *watched)
    corral.ok("start", SLEEPER, "--name", "tick", "--no-autostart", "--cron", EVERY_SECOND)
    now = rows(corral)
    assert [now[n]["status"] for n in ("late", "tick")] == ["stopped", "stopped"]
    assert now["late"]["watch"] is False and now["tick"]["next_cron"] is None
    corral.ok("start", "late", "tick")
    now = rows(corral)
    assert now["late"]["watch"] is True and now["tick"]["next_cron"] is not None
    (folder / "app.cfg").write_text("changed")
    wait_until(lambda: causes(rows(corral)["late"], "watch") >= 1, what="a watch restart")
    wait_until(lambda: causes(rows(corral)["tick"], "cron") >= 1, what="a cron restart")


def test_restart_watch_toggles_and_cron_zero_removes_through_the_cli(
    corral: Corral, tmp_path: Path
) -> None:
    """PM2's `restart --watch` flips watching, `restart --cron 0` removes the cron; both
    are runtime state, so a resurrect keeps what they set."""
    setup(corral, tmp_path)
    corral.ok("restart", "w", "--watch")
    corral.ok("restart", "c", "--cron", "0")
    now = rows(corral)
    assert now["w"]["watch"] is False and now["w"]["watch_on"] is False
    assert now["c"]["next_cron"] is None and now["c"]["spec"]["cron_restart"] is None
    code, _out, err = corral("restart", "c", "--cron", "not a pattern")
    assert code == 2 and "cron" in err
    corral.ok("kill")
    corral.ok("resurrect")
    now = rows(corral)
    assert now["w"]["status"] == "online" and now["w"]["watch"] is False
    assert now["c"]["next_cron"] is None
    corral.ok("restart", "w", "--watch")
    assert rows(corral)["w"]["watch"] is True
