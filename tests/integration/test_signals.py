"""Signals reach apps as they would from a shell: default dispositions, nothing blocked.

And `corral up --no-ui` takes SIGHUP (its terminal closed) as it takes SIGTERM: the apps
stop gracefully and their ports are free, instead of orphans under PID 1 holding them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.helpers import APPS, Corral, Up, eco, gone, wait_until

pytestmark = pytest.mark.timeout(60)
TRAP = str(APPS / "hup_trap.sh")


def masks(pid: int) -> tuple[int, int]:
    """PID's ignored and blocked signal masks (SigIgn, SigBlk in /proc/PID/status)."""
    fields = dict(
        line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["SigIgn"], 16), int(fields["SigBlk"], 16)


def log_of(corral: Corral, name: str) -> str:
    path = Path(corral.root, "logs", f"{name}-out.log")
    return path.read_text() if path.exists() else ""


def pid_of(corral: Corral, name: str) -> int:
    [row] = [r for r in corral.rows() if r["name"] == name]
    pid = row["pid"]
    assert isinstance(pid, int)
    return pid


def test_corral_signal_sighup_reaches_a_shell_trap(corral: Corral) -> None:
    corral.ok("start", TRAP, "--name", "trap")
    wait_until(lambda: "ready" in log_of(corral, "trap"), what="the trap is set")
    corral.ok("signal", "SIGHUP", "trap")
    wait_until(lambda: "got HUP" in log_of(corral, "trap"), what="the trap ran")
    assert [r["status"] for r in corral.rows()] == ["online"]


def _hostile_host() -> None:
    """What `nohup corral start … &` in a script does to the CLI (and its daemon)."""
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGUSR2})


def test_apps_get_default_dispositions_whatever_the_daemon_inherited(corral: Corral) -> None:
    sleep = shutil.which("sleep") or "/bin/sleep"
    cli = subprocess.run(
        [sys.executable, "-m", "corral", "start", sleep, "--name", "nap", "--", "3600"],
        env=dict(os.environ, CORRAL_HOME=corral.root),
        preexec_fn=_hostile_host,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert cli.returncode == 0, cli.stderr
    ignored, _blocked = masks(corral.pid())
    assert ignored & (1 << (signal.SIGQUIT - 1)), "the daemon did inherit an ignored SIGQUIT"
    pid = pid_of(corral, "nap")
    assert masks(pid) == (0, 0), "ignored or blocked signals leaked into the app"
    corral.ok("start", TRAP, "--name", "trap")  # a second spawn, same daemon
    wait_until(lambda: "ready" in log_of(corral, "trap"), what="the trap is set")
    corral.ok("signal", "SIGUSR1", "nap")  # blocked in the daemon, default (fatal) here
    wait_until(lambda: gone(pid), what="SIGUSR1 ends sleep")


def test_up_no_ui_stops_its_apps_on_sighup_and_frees_their_ports(
    tmp_path: Path, up_env: dict[str, str], runner: list[Up]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = eco(
        tmp_path,
        f"""
[[apps]]
name = "web"
script = "APPS/httpd.py"
listen = ["127.0.0.1:{port}"]

[[apps]]
name = "nap"
script = "APPS/sleeper.py"
""",
    )
    up = Up([str(path)], tmp_path, up_env)
    runner.append(up)
    up.wait_for(r"nap\[1\] \| ready")
    wait_until(lambda: _answers(port), what="web serving")
    apps = psutil.Process(up.proc.pid).children(recursive=True)
    assert apps
    up.proc.send_signal(signal.SIGHUP)
    code, err = up.finish()
    assert code == 0, err
    assert "SIGHUP: stopping every app" in err
    assert all(gone(p.pid) for p in apps), "an app outlived `up`"
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # raises EADDRINUSE if an orphan still holds it


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0
