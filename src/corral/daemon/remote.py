"""Provides SshLink: a daemon on another machine, reached by `ssh HOST corral dial-stdio`.

OpenSSH does the authentication, the encryption and the host-key checks with the user's
own config, keys and agent; corral adds no network service. `BatchMode=yes` makes a host
that would ask for a password fail at once with ssh's own message, instead of prompting
inside a CLI pipe or the TUI. Stdlib only: `corral jlist --host` imports this.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import shlex
import subprocess
import tempfile
import time
from typing import BinaryIO

from corral.daemon.client import Link, NotRunning

SSH_ENV = "CORRAL_SSH"
"""The ssh command line to use (default `ssh`), e.g. `ssh -F ~/.ssh/fleet_config`."""
REMOTE_ENV = "CORRAL_REMOTE"
"""The corral command on the remote side (default `corral`), e.g. `/opt/corral/bin/corral`."""


def split_host(spec: str) -> tuple[str, str | None]:
    """`[user@]host[:port]` as ssh's destination and port; `[::1]:2222` for IPv6 with a port.

    A name without a port may be an alias from the user's ssh config, which ssh resolves.
    """
    user, at, rest = spec.rpartition("@")
    prefix = f"{user}@" if at else ""
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else None
        return prefix + host, port or None
    host, colon, port = rest.partition(":")
    if colon and port.isdigit() and host:
        return prefix + host, port
    return prefix + rest, None


def ssh_command(spec: str) -> list[str]:
    """The argv that bridges to SPEC's daemon."""
    destination, port = split_host(spec)
    command = shlex.split(os.environ.get(SSH_ENV) or "ssh")
    command += ["-o", "BatchMode=yes", "-T"]
    if port:
        command += ["-p", port]
    remote = os.environ.get(REMOTE_ENV) or "corral"
    return [*command, "--", destination, remote, "dial-stdio"]


class SshLink(Link):
    """The stdin and stdout of an ssh child running `corral dial-stdio` on the far side."""

    def __init__(self, spec: str, proc: subprocess.Popen[bytes], errors: BinaryIO) -> None:
        self.spec = spec
        self.proc = proc
        self._errors = errors
        self._buffer = b""
        self._timeout: float | None = None

    @classmethod
    def open(cls, spec: str) -> SshLink:
        """Start ssh for SPEC (`[user@]host[:port]` or an ssh config alias)."""
        errors = tempfile.TemporaryFile()  # noqa: SIM115 (ssh's stderr: closed by close())
        try:
            proc = subprocess.Popen(
                ssh_command(spec),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                start_new_session=True,  # a Ctrl-C in the CLI is ours to handle, not ssh's
            )
        except OSError as exc:
            errors.close()
            raise NotRunning(f"{spec}: cannot run ssh: {exc}") from exc
        return cls(spec, proc, errors)

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError as exc:
            raise NotRunning(self.closed_reason()) from exc

    def readline(self) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        while b"\n" not in self._buffer:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([fd], [], [], wait)[0]:
                raise TimeoutError(f"{self.spec}: no answer within {self._timeout:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line + b"\n"

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def closed_reason(self) -> str:
        """ssh's own last words (host key, auth, no corral there), or its exit status."""
        try:
            code = self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            code = None
        self._errors.seek(0)
        said = self._errors.read()[-2000:].decode(errors="replace").strip()
        lines = [line for line in said.splitlines() if line.strip()]
        if lines:
            return f"{self.spec}: {lines[-1]}"
        return f"{self.spec}: the connection closed (ssh exit status {code})"

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._errors.close()


class AsyncSshOpener:
    """Opens `ssh HOST corral dial-stdio` as asyncio streams, for AsyncClient.

    With a CONTROL_DIR, the first connection becomes an OpenSSH control master and later
    ones (each TUI command opens its own) ride on it: one TCP connection and one login
    per host, and a command costs a round trip rather than a handshake. The master lives
    exactly as long as its first session, the monitor's event stream.
    """

    def __init__(self, spec: str, control_dir: str | None = None) -> None:
        self.spec = spec
        self.control_dir = control_dir
        self._errors: list[BinaryIO] = []
        self._procs: set[asyncio.subprocess.Process] = set()
        """The ssh children still running (each connection is one)."""

    def command(self) -> list[str]:
        argv = ssh_command(self.spec)
        if self.control_dir is None:
            return argv
        at = argv.index("--")
        control = ["-o", "ControlMaster=auto", "-o", f"ControlPath={self.control_dir}/%C"]
        return [*argv[:at], *control, "-o", "ControlPersist=no", *argv[at:]]

    async def __call__(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        errors = tempfile.TemporaryFile()  # noqa: SIM115 (kept for last_error, closed later)
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
                start_new_session=True,
                limit=256 * 1024 * 1024,
            )
        except OSError as exc:
            errors.close()
            raise NotRunning(f"{self.spec}: cannot run ssh: {exc}") from exc
        self._procs = {p for p in self._procs if p.returncode is None}
        self._procs.add(proc)
        for old in self._errors[:-3]:
            old.close()
        self._errors = [*self._errors[-3:], errors]
        assert proc.stdout is not None
        assert proc.stdin is not None
        return proc.stdout, proc.stdin

    def last_error(self) -> str | None:
        """ssh's last words on the newest connection (host key, auth, refused), if any."""
        for errors in reversed(self._errors):
            errors.seek(0)
            lines = [
                ln
                for ln in errors.read()[-2000:].decode(errors="replace").splitlines()
                if ln.strip()
            ]
            if lines:
                return lines[-1]
        return None

    async def aclose(self) -> None:
        """End the ssh children still running and wait for them, on the loop that made
        them (their transports must not outlive it)."""
        for proc in self._procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
        for proc in self._procs:
            try:
                await asyncio.wait_for(proc.wait(), 5.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        self._procs.clear()

    def close(self) -> None:
        for errors in self._errors:
            errors.close()
        self._errors = []
