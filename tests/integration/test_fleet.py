"""Verbs on other machines' daemons: `dial-stdio`, `--host` through a real ssh.

Two "hosts" are two sshd on 127.0.0.1, each setting its own CORRAL_HOME in its sessions,
so `ssh host corral dial-stdio` reaches a different daemon on each. The daemons are
started locally with the same homes, and their own tables are the judge.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path

import pytest

from tests.fleet import CORRAL, Fleet, cli
from tests.helpers import APPS, SLEEPER, ended_by_interrupt, wait_until

pytestmark = pytest.mark.timeout(120)


def test_dial_stdio_bridges_the_socket_and_starts_nothing(tmp_path: Path) -> None:
    """Without a daemon, dial-stdio fails with a clear message and starts none; with one,
    a hello and a request pass through unchanged."""
    refused = cli(tmp_path, "dial-stdio")
    assert refused.returncode == 1
    assert "no daemon" in refused.stderr and "--start" in refused.stderr
    assert not (tmp_path / "rpc.sock").exists()
    try:
        assert cli(tmp_path, "ping").returncode == 0
        talk = b'{"hello":{"version":1,"corral":"x"}}\n{"id":7,"method":"ping","params":{}}\n'
        proc = subprocess.run(
            [CORRAL, "dial-stdio"],
            input=talk,
            env={**os.environ, "CORRAL_HOME": str(tmp_path)},
            capture_output=True,
            timeout=30,
            check=False,
        )
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        assert "hello" in lines[0]
        assert lines[1]["id"] == 7 and lines[1]["result"]["pong"] is True
    finally:
        cli(tmp_path, "kill")


def test_jlist_and_restart_across_two_hosts(fleet: Fleet) -> None:
    """jlist --host on both returns both sets labelled; restart on one host's app restarts
    only that one; a host that does not answer fails the verb with exit 1 and its reason."""
    assert cli(fleet.homes["fa"], "start", SLEEPER, "--name", "alpha").returncode == 0
    assert cli(fleet.homes["fb"], "start", SLEEPER, "--name", "beta").returncode == 0
    a, b = fleet.host("fa"), fleet.host("fb")

    listed = fleet.run("jlist", "--host", a, "--host", b)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert sorted((r["host"], r["name"]) for r in rows) == sorted([(a, "alpha"), (b, "beta")])

    before = {r["name"]: r["pid"] for r in rows}
    done = fleet.run("restart", "alpha", "--host", a)
    assert done.returncode == 0, done.stderr
    assert f"── {a} ──" in done.stdout and "restart: 1 host ok" in done.stdout
    again = fleet.run("jlist", "--host", a, "--host", b)
    after = {r["name"]: r["pid"] for r in json.loads(again.stdout)}
    assert after["alpha"] != before["alpha"]
    assert after["beta"] == before["beta"]

    fleet.kit.stop("fb")
    partial = fleet.run("list", "--host", a, "--host", b)
    assert partial.returncode == 1
    assert "alpha" in partial.stdout
    assert f"1 failed: {b}" in partial.stdout
    assert b in partial.stderr


class Lines:
    """A subprocess's stdout, read line by line with a deadline per wait."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: list[str] = []

    def wait_for(self, text: str, timeout: float = 40.0) -> str:
        """The first line from now on that contains TEXT (fails after TIMEOUT seconds)."""

        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = select.select([self.proc.stdout], [], [], 0.5)[0]
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if not line:
                break
            self.seen.append(line)
            if text in line:
                return line
        pytest.fail(f"no line with {text!r}; last lines:\n{''.join(self.seen[-20:])}")


@pytest.mark.slow
def test_monit_no_ui_follows_two_hosts_and_survives_one_dropping(fleet: Fleet) -> None:
    """Host-prefixed lines from both hosts; a host whose sshd dies is reported
    disconnected while the other keeps streaming, and comes back when sshd does."""
    chatty = str(APPS / "chatty.py")
    assert cli(fleet.homes["fa"], "start", chatty, "--name", "alpha").returncode == 0
    assert cli(fleet.homes["fb"], "start", chatty, "--name", "beta").returncode == 0
    a, b = fleet.host("fa"), fleet.host("fb")
    proc = subprocess.Popen(
        [CORRAL, "monit", "--no-ui", a, b],
        env={**os.environ, "CORRAL_HOME": str(fleet.homes["local"]), **fleet.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    out = Lines(proc)
    try:
        out.wait_for(f"{a}/alpha")
        out.wait_for(f"{b}/beta")
        fleet.kit.stop("fb")
        out.wait_for(f"{b} disconnected")
        out.wait_for(f"{a}/alpha")  # the other host goes on
        fleet.kit.restart("fb")
        out.wait_for(f"{b}: connected", timeout=60)
        out.wait_for(f"{b}/beta")
        assert not (fleet.homes["local"] / "rpc.sock").exists()  # no local daemon started
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(10)


@pytest.mark.slow
def test_logs_across_two_hosts_history_and_live(fleet: Fleet) -> None:
    """logs --host: each host's history comes from its own daemon (the files are there),
    then live lines follow, every line marked with its host; --json lines carry `host`."""
    chatty = str(APPS / "chatty.py")
    args = ["--", "1000000", "--interval", "0.2"]
    assert fleet.on("fa", "start", chatty, "--name", "alpha", *args).returncode == 0
    assert fleet.on("fb", "start", chatty, "--name", "beta", *args).returncode == 0
    wait_until(lambda: "line 3" in fleet.on("fa", "logs", "--nostream").stdout, 30)
    wait_until(lambda: "line 3" in fleet.on("fb", "logs", "--nostream").stdout, 30)

    done = fleet.run("logs", "--nostream", "--lines", "3", "--raw", "--host", "fa", "--host", "fb")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("fa | line ") for line in lines), lines
    assert any(line.startswith("fb | line ") for line in lines), lines
    assert lines[-1] == "logs: 2 hosts ok"

    as_json = fleet.run("logs", "--nostream", "--lines", "2", "--json", "--host", "fb")
    records = [json.loads(line) for line in as_json.stdout.splitlines() if line.startswith("{")]
    assert records and all(r["host"] == "fb" for r in records)

    proc = subprocess.Popen(
        [CORRAL, "logs", "--lines", "0", "--host", "fa", "--host", "fb"],
        env={**os.environ, "CORRAL_HOME": str(fleet.homes["local"]), **fleet.env},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    out = Lines(proc)
    try:
        out.wait_for("fa | ")
        out.wait_for("fb | ")
    finally:
        # Ctrl-C: the follow ends without waiting for the hosts
        assert ended_by_interrupt(proc) == 130
