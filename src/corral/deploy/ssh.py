"""Provides `ssh_argv` and `run_streamed`: a script run on a host through the system ssh.

The system OpenSSH client is used, not a Python SSH library, so whatever the user's ssh
already does (`~/.ssh/config` aliases, agents, jump hosts, known_hosts policy) applies to
deploys as well. Options from the config come first on the command line because ssh keeps
the first value it sees for an option: `ssh_options = "ConnectTimeout=30"` overrides ours.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from corral.deploy.config import DeployTarget, Host
from corral.deploy.script import MARK

CONNECT_TIMEOUT_S = 5
"""An unreachable host fails after this long instead of ssh's default (the TCP timeout)."""

SSH_FAILED = 255
"""ssh's own exit code for a connection or authentication failure."""


def ssh_argv(target: DeployTarget, host: Host, remote_command: str) -> list[str]:
    """The ssh command line that runs REMOTE_COMMAND on HOST, with the env's ssh settings."""
    argv = ["ssh"]
    for option in target.ssh_options:
        argv += ["-o", option]
    # BatchMode: a password prompt from several hosts at once cannot be answered.
    argv += ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}"]
    port = host.port or target.port
    if port is not None:
        argv += ["-p", str(port)]
    if target.key:
        argv += ["-i", os.path.expanduser(target.key)]
    if target.forward_agent:
        argv.append("-A")
    if target.needs_tty:
        argv.append("-tt")  # forced: our stdin is never a terminal (hosts run in parallel)
    user = host.user or target.user
    argv += [f"{user}@{host.name}" if user else host.name, "--", remote_command]
    return argv


def remote_bash(script: str) -> str:
    """The command line the remote login shell runs: SCRIPT under a bash login shell.

    A login shell reads the profile, so `corral` (or nvm's node) installed in the
    user's PATH is found by hooks, as it is when the user logs in.
    """
    return f"bash -lc {shlex.quote(script)}"


@dataclass
class Outcome:
    """What one script run said: its exit code, its marker lines, and its last output."""

    code: int
    marks: list[tuple[str, str]] = field(default_factory=list)
    """(word, rest) of each `::corral:: word rest` line, in order."""
    last_line: str = ""
    """The last line shown; ssh's own error when it could not connect."""

    def mark(self, word: str) -> str | None:
        """The value of the last WORD marker, if any."""
        for seen, value in reversed(self.marks):
            if seen == word:
                return value
        return None

    def all(self, word: str) -> list[str]:
        return [value for seen, value in self.marks if seen == word]

    @property
    def started(self) -> bool:
        """Whether the remote script began (so the connection itself worked)."""
        return any(word == "start" for word, _ in self.marks)


class Cancelled(Exception):
    """The run was cancelled (Ctrl-C) before this command finished."""


class ProcessGroup:
    """The child processes of one `corral deploy`, so Ctrl-C can end them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen[bytes]] = set()
        self.cancelled = False

    def spawn(self, argv: Sequence[str], cwd: str | None = None) -> subprocess.Popen[bytes]:
        with self._lock:
            if self.cancelled:
                raise Cancelled
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            self._live.add(proc)
            return proc

    def done(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._live.discard(proc)

    def cancel(self) -> None:
        """Terminate every live child; later spawns raise Cancelled."""
        with self._lock:
            self.cancelled = True
            for proc in self._live:
                if proc.poll() is None:
                    proc.terminate()


def run_streamed(
    argv: Sequence[str],
    show: Callable[[str], None],
    group: ProcessGroup,
    *,
    cwd: str | None = None,
) -> Outcome:
    """Run ARGV, pass each output line (markers taken out) to SHOW, and collect markers."""
    outcome = Outcome(code=0)
    try:
        proc = group.spawn(argv, cwd=cwd)
    except OSError as exc:
        show(f"cannot run {argv[0]}: {exc}")
        return Outcome(code=127, last_line=f"cannot run {argv[0]}: {exc.strerror}")
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
            if line.startswith(MARK):
                word, _, rest = line[len(MARK) :].strip().partition(" ")
                outcome.marks.append((word, rest.strip()))
                continue
            show(line)
            if line.strip():
                outcome.last_line = line.strip()
        outcome.code = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        group.done(proc)
    return outcome
