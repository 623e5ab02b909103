"""Acknowledged means durable: a kill -9 of the daemon never brings back an older list.

A change the daemon has answered (start, stop, delete, scale, restart --update-env) is in
state.json before the answer; a daemon that recovers from it writes the dump at once,
before it serves anyone, so the next `kill` + `resurrect` (a reboot) keeps the change.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import SLEEPER, Corral, crash, recover, saved, statuses, wait_until


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


@pytest.mark.timeout(120)
def test_deleting_the_last_app_just_before_a_crash_survives_it(corral: Corral) -> None:
    """The dead daemon's state.json lists nothing: its recovery still writes the dump
    (found by the fifty-crash test below, seed 91154: the deleted app came back)."""
    corral.ok("start", SLEEPER, "--name", "a")
    wait_until(lambda: statuses(corral) == [(0, "a", "online")], what="a saved")
    corral.ok("delete", "a")
    crash(corral)  # within autosave's 200 ms: only state.json knows a is gone
    recover(corral)
    assert statuses(corral) == []
    corral.ok("kill")  # what a reboot does
    corral.ok("resurrect")
    assert corral.rows() == []


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
# 50 daemon start-ups and recoveries: about 1 s each on an idle 2-core machine, 3-4 s
# when five other test runs share it (load 15-40); the bound is for the latter.
@pytest.mark.timeout(600)
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


# -------------------------------------------------------------------- disk full


@pytest.fixture
def small_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_leftovers: None
) -> Iterator[Corral]:
    """A CORRAL_HOME on its own 2 MiB tmpfs (root only), unmounted after the daemon is gone."""
    if os.getuid() != 0:
        pytest.skip("needs root to mount a small tmpfs (CI runs as root)")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    monkeypatch.setenv("CORRAL_HOME", str(mnt / "home"))
    runner = Corral(mnt / "home")
    try:
        yield runner
    finally:
        left = runner.teardown()
        subprocess.run(["umount", "-l", str(mnt)], check=False)
    assert not left, f"processes left behind: {left}"


def state_statuses(corral: Corral) -> list[str]:
    state = json.loads(Path(corral.root, "state.json").read_text())
    return [p["status"] for p in state["processes"]]


def fill(folder: Path) -> Path:
    """Write zeros into FOLDER until the file system is full; the filler's path."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    block = b"\0" * 65536
    try:
        while True:
            os.write(fd, block)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)
    return filler


@pytest.mark.timeout(90)
def test_a_full_disk_is_reported_retried_and_the_state_written_once_space_returns(
    small_disk: Corral,
) -> None:
    corral = small_disk
    corral.ok("start", SLEEPER, "--name", "a")
    wait_until(lambda: statuses(corral) == [(0, "a", "online")], what="a saved")
    assert "NOT SAVED" not in corral.ok("list")
    filler = fill(Path(corral.root))

    corral.ok("stop", "a")  # acknowledged, but neither file can take it
    out = corral.ok("list")
    assert "NOT SAVED" in out and "state.json" in out and "No space left" in out, out
    with corral.client() as client:
        wait_until(
            lambda: "dump.json" in (client.call("ping").get("persistence") or ""),
            what="the failed autosave reported",
        )
    assert state_statuses(corral) == ["online"], "the old state stays whole"
    assert statuses(corral) == [(0, "a", "online")]

    filler.unlink()  # space returns: the retries (every 5 s at most) write both files
    wait_until(lambda: statuses(corral) == [(0, "a", "stopped")], timeout=20, what="the dump")
    wait_until(lambda: state_statuses(corral) == ["stopped"], timeout=20, what="the state")
    wait_until(lambda: "NOT SAVED" not in corral.ok("list"), timeout=20, what="no more alarm")
    assert "written again" in Path(corral.home.log).read_text()
