"""Acknowledged means durable: a kill -9 of the daemon never brings back an older list.

A change the daemon has answered (start, stop, delete, scale, restart --update-env) is in
state.json before the answer; a daemon that recovers from it writes the dump at once,
before it serves anyone, so the next `kill` + `resurrect` (a reboot) keeps the change.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_daemon import SLEEPER, Corral, corral, gone, wait_until
from tests.integration.test_persist import _unlocked

__all__ = ["corral"]  # the fixture, re-exported for this module's tests


def saved(corral: Corral) -> list[dict[str, Any]]:
    """The apps in dump.json ([] when there is none)."""
    try:
        body = json.loads(Path(corral.root, "dump.json").read_text())
    except FileNotFoundError:
        return []
    apps: list[dict[str, Any]] = body["apps"]
    return apps


def statuses(corral: Corral) -> list[tuple[int, str, str]]:
    return [(a["id"], a["name"], a["status"]) for a in saved(corral)]


def crash(corral: Corral) -> None:
    """kill -9 the daemon and wait until its pid file lock is free (it is truly gone)."""
    pid = corral.pid()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: gone(pid) and _unlocked(corral.home.pid_file), what="the daemon's death")


def recover(corral: Corral) -> str:
    """Start a new daemon (it recovers before it answers); its stderr line."""
    code, _out, err = corral("ping")
    assert code == 0, err
    return err


@pytest.mark.timeout(120)
def test_a_start_and_a_stop_acknowledged_just_before_a_crash_survive_it(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "a")
    wait_until(lambda: statuses(corral) == [(0, "a", "online")], what="a saved")
    corral.ok("start", SLEEPER, "--name", "b")
    crash(corral)  # within autosave's 200 ms: only state.json knows of b
    assert "had died" in recover(corral)
    assert statuses(corral) == [(0, "a", "online"), (1, "b", "online")]

    corral.ok("stop", "a")
    crash(corral)
    recover(corral)
    assert statuses(corral) == [(0, "a", "stopped"), (1, "b", "online")]

    corral.ok("kill")  # what a reboot does
    corral.ok("resurrect")
    rows = {r["name"]: r["status"] for r in corral.rows()}
    assert rows == {"a": "stopped", "b": "online"}


class Model:
    """What the dump must hold: per app, its instance count, desired state and MARK."""

    def __init__(self) -> None:
        self.apps: dict[str, tuple[int, str, str]] = {}

    def expected(self) -> list[tuple[str, str, str]]:
        return sorted(
            (name, status, mark)
            for name, (count, status, mark) in self.apps.items()
            for _ in range(count)
        )


def in_dump(corral: Corral) -> list[tuple[str, str, str]]:
    return sorted((a["name"], a["status"], a["spec"]["env"].get("MARK", "")) for a in saved(corral))


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_kill_9_at_any_instant_after_each_of_50_changes_keeps_the_acknowledged_list(
    corral: Corral, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = int(os.environ.get("CORRAL_CRASH_SEED", time.time_ns() % 100_000))
    print(f"seed {seed} (CORRAL_CRASH_SEED reruns it)")
    rng = random.Random(seed)
    # /bin/sleep, not a Python app: 50 recoveries restart up to 12 processes each.
    sleep = shutil.which("sleep") or "/bin/sleep"
    model = Model()
    names = ["a", "b", "c", "d"]
    for step in range(50):
        mark = f"m{step}"
        monkeypatch.setenv("MARK", mark)
        name = rng.choice(names)
        app = model.apps.get(name)
        if app is None:
            corral.ok("start", sleep, "--name", name, "--", "3600")
            model.apps[name] = (1, "online", mark)
            change = f"start {name}"
        else:
            count, status, old = app
            verb = rng.choice(["stop", "start", "delete", "scale", "update-env"])
            if verb == "scale" and status == "online":
                wanted = rng.randint(1, 3)
                corral.ok("scale", name, str(wanted))
                model.apps[name] = (wanted, status, old)
            elif verb == "update-env" and status == "online":
                corral.ok("restart", name, "--update-env")
                model.apps[name] = (count, status, mark)
            elif verb == "delete":
                corral.ok("delete", name)
                del model.apps[name]
            elif verb == "stop" or (verb in ("scale", "update-env") and status == "stopped"):
                verb = "stop"
                corral.ok("stop", name)
                model.apps[name] = (count, "stopped", old)
            else:
                corral.ok("start", name)
                model.apps[name] = (count, "online", old)
            change = f"{verb} {name}"
        # The point of the test is a crash at a random instant after the answer: this
        # sleep picks the instant, it synchronises nothing.
        delay = rng.uniform(0, 0.3)
        time.sleep(delay)
        crash(corral)
        recover(corral)
        assert in_dump(corral) == model.expected(), (
            f"step {step} ({change}, crash {delay * 1000:.0f} ms after it), seed {seed}"
        )
