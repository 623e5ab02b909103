"""`corral monit fa fb`: two hosts' daemons in one monitor, in tmux, through real ssh.

The monitor runs here and dials both hosts (two sshd on 127.0.0.1, see tests/fleet.py);
each host's own `jlist` is the judge of what a key did.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fleet import CORRAL, Fleet
from tests.helpers import APPS, tmux

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
WAIT_S = 60.0
"""Generous: a loaded two-core machine starts Python, ssh and Textual slowly."""


class Screen:
    """A command in a detached tmux session of its own, read with capture-pane."""

    def __init__(self, folder: Path, argv: list[str], env: dict[str, str]) -> None:
        self.socket = str(folder / "tmux.sock")
        conf = folder / "tmux.conf"
        conf.write_text("set -g remain-on-exit on\n")
        exports = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), *argv])
        self.tmux("-f", str(conf), "new-session", "-d", "-s", "t", "-x", "120", "-y", "40", exports)
        self.last = ""

    def tmux(self, *argv: str) -> str:
        return tmux(self.socket, *argv)

    def wait_for(self, check: Callable[[str], object], what: str) -> str:
        deadline = time.monotonic() + WAIT_S
        while not check(screen := self.tmux("capture-pane", "-p", "-t", "t")):
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} on the screen:\n{screen}")
            time.sleep(0.2)  # polling the screen, with a deadline
        self.last = screen
        return screen

    def press(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def close(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.tmux("kill-server")


def status(fleet: Fleet, slot: str, name: str) -> str:
    rows = json.loads(fleet.on(slot, "jlist").stdout)
    return str(next(r["status"] for r in rows if r["name"] == name))


@pytest.mark.slow
def test_monit_shows_two_hosts_acts_on_one_and_survives_a_drop(
    fleet: Fleet, tmp_path: Path
) -> None:
    """Both hosts' apps and tails show; `s` stops the selected remote app on its host only;
    a host whose sshd dies shows as disconnected while the other keeps updating; it comes
    back when sshd does."""
    chatty = str(APPS / "chatty.py")
    args = ["--", "1000000", "--interval", "1"]
    assert fleet.on("fa", "start", chatty, "--name", "alpha", *args).returncode == 0
    assert fleet.on("fa", "start", chatty, "--name", "gamma", *args).returncode == 0
    assert fleet.on("fb", "start", chatty, "--name", "beta", *args).returncode == 0
    env = {**fleet.env, "CORRAL_HOME": str(fleet.homes["local"]), "TERM": "xterm-256color"}
    screen = Screen(tmp_path, [CORRAL, "monit", "fa", "fb"], env)
    try:
        screen.wait_for(
            lambda s: (
                re.search(r"\bhost\s+name\b", s)
                and re.search(r"\bfa\s+alpha\b", s)
                and re.search(r"\bfb\s+beta\b", s)
            ),
            "both hosts' apps, each host in its column",
        )
        screen.wait_for(
            lambda s: re.search(r"fb/beta\[\d+\] \| line", s), "beta's lines in the tail"
        )

        screen.press("Home")  # the first row, fa/alpha (rows come in as the hosts answer)
        screen.press("s")
        deadline = time.monotonic() + WAIT_S
        while status(fleet, "fa", "alpha") != "stopped":
            if time.monotonic() > deadline:
                shown = screen.tmux("capture-pane", "-p", "-t", "t")
                pytest.fail(f"alpha was not stopped on its host:\n{shown}")
            time.sleep(0.2)  # polling the host's daemon, with a deadline
        assert status(fleet, "fb", "beta") == "online"
        assert status(fleet, "fa", "gamma") == "online"

        fleet.kit.stop("fb")
        screen.wait_for(lambda s: "fb disconnected" in s, "fb marked disconnected")
        last = max(gamma_lines(screen.last), default=0)
        screen.wait_for(lambda s: max(gamma_lines(s), default=0) > last, "fa still streaming")
        fleet.kit.restart("fb")
        screen.wait_for(lambda s: "fb: connected" in s, "fb reconnected")
        assert not (fleet.homes["local"] / "rpc.sock").exists(), "no local daemon started"
    finally:
        screen.close()


def gamma_lines(screen: str) -> list[int]:
    """The numbers of gamma's lines visible in the tail."""
    return [int(n) for n in re.findall(r"fa/gamma\[\d+\] \| line (\d+)", screen)]
