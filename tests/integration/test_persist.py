"""save, resurrect, cleardump, autosave and crash recovery against a real daemon.

The crash test is the issue's: three apps (one a cluster of two on a shared socket), the
daemon killed with SIGKILL, then `corral list` must show the same apps online exactly
once, no old process alive, and the logs going on in the same files.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from corral.persist import dump
from tests.helpers import (
    APPS,
    SLEEPER,
    Corral,
    free_port,
    gone,
    processes_of,
    saved,
    statuses,
    unlocked,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)


def test_save_refuses_an_empty_list_then_writes_a_versioned_private_dump(
    corral: Corral, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path(corral.root).mkdir(mode=0o700)
    Path(corral.root, "corral.toml").write_text("autosave = false\n")
    code, _out, err = corral("save")
    assert code == 1 and "--force" in err
    assert not Path(corral.root, "dump.json").exists()
    monkeypatch.setenv("SECRET_TOKEN", "s3cret")
    corral.ok("start", SLEEPER, "--name", "a")
    corral.ok("start", SLEEPER, "--name", "b", "-i", "2")
    assert not Path(corral.root, "dump.json").exists(), "autosave = false in corral.toml"
    assert "saved 3 processes" in corral.ok("save")
    body = json.loads(Path(corral.root, "dump.json").read_text())
    assert body["format"] == "corral-dump" and body["version"] == dump.VERSION
    assert [(a["id"], a["name"], a["status"]) for a in body["apps"]] == [
        (0, "a", "online"),
        (1, "b", "online"),
        (2, "b", "online"),
    ]
    assert body["apps"][1]["spec"]["instances"] == 2
    assert body["apps"][0]["spec"]["env"]["SECRET_TOKEN"] == "s3cret"
    assert os.stat(Path(corral.root, "dump.json")).st_mode & 0o777 == 0o600
    first = Path(corral.root, "dump.json").read_bytes()
    corral.ok("stop", "a")
    corral.ok("dump")  # PM2's alias
    assert Path(corral.root, "dump.json.bak").read_bytes() == first
    assert statuses(corral)[0] == (0, "a", "stopped")
    corral.ok("cleardump")
    assert saved(corral) == []
    assert json.loads(Path(corral.root, "dump.json.bak").read_text())["apps"][0]["name"] == "a"
    assert corral.ok("save", "--force", "--json").startswith("{")


def test_autosave_follows_the_list_and_kill_leaves_it_for_resurrect(
    corral: Corral, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GREETING", "hello")
    corral.ok("start", SLEEPER, "--name", "a")
    corral.ok("start", SLEEPER, "--name", "b")
    corral.ok("start", SLEEPER, "--name", "gone")
    wait_until(lambda: len(saved(corral)) == 3, what="autosave of three apps")
    corral.ok("stop", "b")
    corral.ok("delete", "gone")
    expected = [(0, "a", "online"), (1, "b", "stopped")]
    wait_until(lambda: statuses(corral) == expected, what="autosave of stop and delete")
    before = Path(corral.root, "dump.json").read_bytes()
    assert "daemon stopped" in corral.ok("kill")
    assert Path(corral.root, "dump.json").read_bytes() == before, "kill must not touch the dump"
    assert not Path(corral.root, "state.json").exists(), "a clean exit leaves nothing to recover"

    monkeypatch.setenv("GREETING", "changed")  # resurrect keeps the saved env, not ours
    out = corral.ok("resurrect")
    assert "2 processes restored" in out
    rows = {r["name"]: r for r in corral.rows()}
    assert rows["a"]["status"] == "online" and rows["b"]["status"] == "stopped"
    assert (rows["a"]["id"], rows["b"]["id"]) == (0, 1)
    assert rows["a"]["spec"]["env"]["GREETING"] == "hello"
    assert "already running" in corral.ok("resurrect")
    assert sorted(r["name"] for r in corral.rows()) == ["a", "b"]


def test_resurrect_without_a_dump_a_corrupt_one_and_an_unknown_version(corral: Corral) -> None:
    code, _out, err = corral("resurrect")
    assert code == 1 and "nothing saved yet" in err
    assert not os.path.exists(corral.home.pid_file), "no daemon started for nothing"

    Path(corral.root).mkdir(mode=0o700, exist_ok=True)
    Path(corral.root, "corral.toml").write_text("autosave = false\n")
    good = dump.encode([dump.Entry("a", "online", _spec("a"), 0)])
    Path(corral.root, "dump.json.bak").write_bytes(good)
    Path(corral.root, "dump.json").write_bytes(b'{"format": "corral-dump", "vers')
    code, out, err = corral("resurrect")
    assert code == 0, err
    assert "warning" in err and "not valid JSON" in err and "dump.json.bak" in err
    assert "1 processes restored" in out
    [aside] = Path(corral.root).glob("dump.json.broken-*")  # moved aside, kept (PM2 deletes it)
    assert aside.read_bytes() == b'{"format": "corral-dump", "vers'
    assert Path(corral.root, "dump.json.bak").read_bytes() == good

    future = json.loads(good)
    future["version"] = 99
    Path(corral.root, "dump.json").write_text(json.dumps(future))
    code, _out, err = corral("resurrect")
    assert code == 1 and "format version 99" in err


def test_autosave_never_rotates_a_corrupt_dump_over_the_backup(corral: Corral) -> None:
    good = dump.encode([dump.Entry("a", "online", _spec("a"), 0)])
    Path(corral.root).mkdir(mode=0o700)
    Path(corral.root, "dump.json.bak").write_bytes(good)
    Path(corral.root, "dump.json").write_bytes(b"garbage")
    corral.ok("start", SLEEPER, "--name", "a")  # the daemon autosaves the new list
    wait_until(lambda: list(Path(corral.root).glob("dump.json.broken-*")), what="set aside")
    [aside] = Path(corral.root).glob("dump.json.broken-*")
    assert aside.read_bytes() == b"garbage"
    assert Path(corral.root, "dump.json.bak").read_bytes() == good
    wait_until(lambda: statuses(corral) == [(0, "a", "online")], what="the new dump")


def _spec(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "script": SLEEPER,
        "cwd": str(APPS),
        "interpreter": sys.executable,
        "env": dict(os.environ, PYTHONUNBUFFERED="1"),
    }


def test_a_killed_daemon_is_replaced_and_its_apps_come_back_once(
    corral: Corral, tmp_path: Path
) -> None:
    port = free_port()
    eco = tmp_path / "web.toml"
    eco.write_text(
        f"""
[[apps]]
name = "web"
script = "{APPS / "httpd.py"}"
instances = 2
exec_mode = "cluster"
listen = ["127.0.0.1:{port}"]
"""
    )
    corral.ok("start", SLEEPER, "--name", "a")
    corral.ok("start", SLEEPER, "--name", "b")
    corral.ok("start", str(eco))
    corral.ok("stop", "b")
    corral.ok("start", "b")  # restarted by the user: desired online again
    logs = Path(corral.root, "logs")
    wait_until(lambda: _count(logs / "a-out.log", "ready") == 1, what="a's first line")
    wait_until(lambda: _count(logs / "b-out.log", "ready") == 2, what="b's lines")
    before = {r["id"]: r for r in corral.rows()}
    assert [r["status"] for r in before.values()] == ["online"] * 4
    old_pids = {int(r["pid"]) for r in before.values()}
    state = json.loads(Path(corral.root, "state.json").read_text())
    assert {p["pid"] for p in state["processes"]} == old_pids
    old_daemon = corral.pid()
    served_by = _get(port)
    assert served_by in old_pids

    os.kill(old_daemon, signal.SIGKILL)
    # Its leader thread is a zombie before its other threads are gone; its files (socket,
    # pid-file lock) are closed only once the last one is: wait for that.
    wait_until(lambda: gone(old_daemon) and unlocked(corral.home.pid_file), what="its death")
    code, _out, err = corral("list")
    assert code == 0, err
    assert err.count("had died") == 1 and "4 processes of 3 apps" in err
    assert "old process" in err

    after = {r["id"]: r for r in corral.rows()}
    assert list(after) == list(before), "the same ids, so the same log files"
    assert [(r["name"], r["status"]) for r in after.values()] == [
        (r["name"], "online") for r in before.values()
    ]
    new_pids = {int(r["pid"]) for r in after.values()}
    assert not new_pids & old_pids
    assert all(gone(pid) for pid in old_pids), "no old instance may survive"
    assert sorted(processes_of(corral.root)) == sorted(new_pids | {corral.pid()})
    wait_until(lambda: _count(logs / "a-out.log", "ready") == 2, what="a's log goes on")
    wait_until(lambda: _count(logs / "b-out.log", "ready") == 3, what="b's log goes on")
    assert _get(port) in new_pids, "the new daemon re-bound the shared socket"
    # A second CLI hears nothing: the line was told once.
    assert "had died" not in corral("list")[2]


def _count(path: Path, word: str) -> int:
    try:
        return path.read_text().split().count(word)
    except FileNotFoundError:
        return 0


def _get(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
        return int(answer.read())


def test_recovery_never_takes_a_reused_pid_for_an_old_app(tmp_path: Path) -> None:
    from corral.persist import recover, state

    stranger = subprocess.Popen([sys.executable, SLEEPER], stdout=subprocess.DEVNULL)
    try:
        started = state.create_time(stranger.pid)
        assert started is not None
        spec = _spec("a")

        def previous(create_time: float) -> state.State:
            inst = state.Instance(0, "a", "online", spec, stranger.pid, create_time)
            return state.State(1, state.boot_id(), [inst])

        root = str(tmp_path)
        assert stranger.pid not in recover.leftovers(previous(started - 100.0), root)
        assert stranger.pid in recover.leftovers(previous(started), root)
    finally:
        stranger.kill()
        stranger.wait()
