"""A real OpenSSH server on 127.0.0.1 for the deploy tests (the `ssh_kit` fixture is in conftest).

Each server gets a generated host key, one authorized user key (also generated), its own
free port and a `SetEnv CORRAL_TEST_SLOT=<slot>`, so two servers on one machine can
deploy to two folders from one config (`path = ".../deploy-$CORRAL_TEST_SLOT"`). Sessions
get an empty HOME: the remote login shell then reads no dotfiles of the user running
the tests (they would slow every session down and make the tests depend on them). The
tests skip, saying why, only when no `sshd` binary exists (CI installs openssh-server).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import free_port

SSHD = shutil.which("sshd", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
"""The server binary, or None: the deploy tests are skipped without it."""
START_TIMEOUT_S = 10.0


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _descendants(pid: int) -> list[int]:
    """PID's live descendants, from the kernel's children lists."""
    found: list[int] = []
    stack = [pid]
    while stack:
        parent = stack.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                kids = [int(k) for k in task.read_text().split()]
                found += kids
                stack += kids
    return found


def keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "corral-test", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class SshServer:
    """One running sshd."""

    slot: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class SshKit:
    """Keys, known_hosts and the servers of one test session."""

    folder: Path
    user: str = field(default_factory=getpass.getuser)
    servers: dict[str, SshServer] = field(default_factory=dict)

    @property
    def home(self) -> Path:
        """HOME of ssh sessions: empty, so the tests don't run (or wait for) your dotfiles."""
        return self.folder / "home"

    @property
    def user_key(self) -> Path:
        return self.folder / "id_ed25519"

    @property
    def ssh_options(self) -> list[str]:
        """`-o` options that keep ssh away from the user's own known_hosts and agent."""
        return [
            f"UserKnownHostsFile={self.folder / 'known_hosts'}",
            "GlobalKnownHostsFile=/dev/null",
            "StrictHostKeyChecking=accept-new",
            "IdentitiesOnly=yes",
            "LogLevel=ERROR",
        ]

    def server(self, slot: str = "a", env: dict[str, str] | None = None) -> SshServer:
        """The server for SLOT, started on first use; ENV is set in every session of it."""
        if slot not in self.servers:
            self.servers[slot] = self._start(slot, env or {})
        return self.servers[slot]

    def restart(self, slot: str) -> SshServer:
        """Start SLOT's server again on the same port (after `stop`)."""
        old = self.servers.pop(slot)
        self._stop(old.proc)
        self.servers[slot] = self._start(slot, old.env, old.port)
        return self.servers[slot]

    def stop(self, slot: str) -> None:
        """Stop SLOT's server and end its open sessions, as a host that goes down would.

        Each connection's sshd calls setsid, so the sessions are found as the listener's
        descendants (all started by this test) and killed by pid.
        """
        server = self.servers[slot]
        tree = _descendants(server.proc.pid)
        self._stop(server.proc)
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _start(self, slot: str, env: dict[str, str], port: int | None = None) -> SshServer:
        port = port or free_port()
        extra = "".join(f" {key}={value}" for key, value in env.items())
        config = self.folder / f"sshd_{slot}.conf"
        config.write_text(
            f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {self.folder / "host_ed25519"}
PidFile {self.folder / f"sshd_{slot}.pid"}
AuthorizedKeysFile {self.folder / "authorized_keys"}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin yes
PrintMotd no
UseDNS no
SetEnv CORRAL_TEST_SLOT={slot} HOME={self.home}{extra}
MaxStartups 64
"""
        )
        with contextlib.suppress(PermissionError):  # only root's sshd needs it
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
        log = self.folder / f"sshd_{slot}.log"
        assert SSHD is not None
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _accepts(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                self._stop(proc)
                pytest.fail(f"sshd did not start on port {port}:\n{log.read_text()}")
            time.sleep(0.02)  # polling the port, with a deadline
        return SshServer(slot, port, proc, log, env)

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        for server in self.servers.values():
            self._stop(server.proc)
