"""Provides Prober: one readiness or liveness probe of one run, and the three attempts.

Probes are coroutines on the engine's loop, not threads: an http or tcp attempt is one
connection with a deadline, an exec attempt a real child (in its own process group, so
its timeout kills whatever the command started) whose exit the engine's reaper reports.
A run's probes end with the run. Kubernetes' counting: `success_threshold` passes in a
row make the verdict `ok`, `failure_threshold` failures in a row make it `failing`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from corral.config.probe import split_address
from corral.config.spec import Probe
from corral.engine.events import ProbeName, ProbeStatus
from corral.engine.reaper import REAPER
from corral.engine.run import resolve_exit
from corral.engine.tree import TOKEN_VAR
from corral.figures import span_text

Report = Callable[[ProbeStatus], None]
"""Called with the probe's new standing after every attempt (and when it stops)."""

_NOT_FOR_PROBES = (TOKEN_VAR, "NOTIFY_SOCKET")
"""A probe is not part of the run: the run's token would count it in the app's tree."""


class Prober:
    """Runs PROBE for one run; REPORT hears every attempt's outcome."""

    def __init__(
        self,
        name: ProbeName,
        probe: Probe,
        env: Mapping[str, str],
        cwd: str,
        report: Report,
    ) -> None:
        self.probe = probe
        self.env = {k: v for k, v in env.items() if k not in _NOT_FOR_PROBES}
        self.cwd = cwd
        self.status = ProbeStatus(name, probe.kind, probe.target)
        self._report = report
        self._passes = 0

    async def until_passing(self) -> bool:
        """Attempt until the verdict is ok (readiness); the caller bounds the wait."""
        await self._run(lambda status: status.verdict == "ok")
        return True

    async def until_failing(self) -> str:
        """Attempt until the verdict is failing (liveness); returns the last error."""
        await self._run(lambda status: status.verdict == "failing")
        return self.status.last_error or "failed"

    def stopped(self) -> None:
        """The probe no longer runs (its run ended, or it did its job)."""
        if self.status.running:
            self._set(replace(self.status, running=False))

    async def _run(self, done: Callable[[ProbeStatus], bool]) -> None:
        self._set(replace(self.status, running=True))
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(self.probe.initial_delay / 1000)
            while True:
                began = loop.time()
                error = await attempt(self.probe, self.env, self.cwd)
                _raise_if_cancelled()
                if self._record(error, done):
                    return
                # The period runs from one attempt's start to the next's.
                await asyncio.sleep(max(0.0, self.probe.period / 1000 - (loop.time() - began)))
        finally:
            self.stopped()

    def _record(self, error: str | None, done: Callable[[ProbeStatus], bool]) -> bool:
        """Count one attempt's outcome; True (and the probe no longer running) when DONE."""
        status = self.status
        if error is None:
            self._passes += 1
            verdict = "ok" if self._passes >= self.probe.success_threshold else status.verdict
            if status.verdict == "failing" and verdict != "ok":
                verdict = "pending"  # recovering: neither failing nor proven yet
            status = replace(status, verdict=verdict, last="ok", failures=0)
        else:
            self._passes = 0
            failures = status.failures + 1
            failing = failures >= self.probe.failure_threshold
            verdict = "failing" if failing else status.verdict
            status = replace(status, verdict=verdict, last="failed", failures=failures)
            status = replace(status, last_error=error)
        finished = done(status)
        self._set(replace(status, last_at=time.time(), running=not finished))
        return finished

    def _set(self, status: ProbeStatus) -> None:
        before = self.status
        self.status = status
        if replace(before, last_at=None) != replace(status, last_at=None) or before.last is None:
            self._report(status)


def _raise_if_cancelled() -> None:
    """Python 3.11's `asyncio.wait_for` returns the result when a cancel arrives just as
    the awaited thing completes, swallowing the cancel: a probe stopped at that instant
    would run on forever (and hang the loop's shutdown). The task still counts the
    request, so honour it here."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def attempt(probe: Probe, env: Mapping[str, str], cwd: str) -> str | None:
    """One try of PROBE: None when it passed, else what failed, in a sentence."""
    timeout = probe.timeout / 1000
    took_too_long = f"{probe.what} timed out after {span_text(probe.timeout)}"
    if probe.kind == "exec":
        return await _exec(probe, env, cwd, took_too_long)
    try:
        if probe.kind == "http":
            return await asyncio.wait_for(_http(probe.target), timeout)
        host, port = split_address(probe.target)
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.close()
        return None
    except TimeoutError:
        return took_too_long
    except (OSError, ValueError) as exc:
        return f"{probe.what}: {_why(exc)}"


async def _http(url: str) -> str | None:
    """GET URL over plain HTTP/1.0; a 2xx or 3xx status passes."""
    import urllib.parse  # with ipaddress, only in daemons that run an http probe

    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode())
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
    fields = line.split()
    if len(fields) < 2 or not fields[1].isdigit():
        return f"GET {url}: no HTTP status line" if line else f"GET {url}: closed without answer"
    code = int(fields[1])
    return None if 200 <= code < 400 else f"GET {url} answered {code}"


async def _exec(probe: Probe, env: Mapping[str, str], cwd: str, late: str) -> str | None:
    """Run the command with sh -c in its own process group; its exit status decides."""
    try:
        popen = _start(probe.target, env, cwd)
    except OSError as exc:
        return f"{probe.what}: cannot start: {_why(exc)}"
    exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    # Registered before the next await: the reaper runs only in loop callbacks.
    REAPER.watch(popen.pid, lambda status: resolve_exit(exited, status))
    try:
        status = await asyncio.wait_for(asyncio.shield(exited), probe.timeout / 1000)
    except TimeoutError:
        _kill_group(popen.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited), 1.0)
        return late
    except asyncio.CancelledError:
        _kill_group(popen.pid)  # the run ended: nothing of its probe outlives it
        raise
    finally:
        popen.returncode = 0  # reaped by REAPER, never by Popen (its __del__ stays quiet)
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return None
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return f"{probe.what} {how}"


def _start(command: str, env: Mapping[str, str], cwd: str) -> subprocess.Popen[bytes]:
    """Spawn (a vfork and exec: nothing to wait for); the reaper collects its exit."""
    return subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _why(exc: BaseException) -> str:
    """`connection refused` rather than `[Errno 111] Connect call failed ('127.0.0.1', 1)`."""
    if isinstance(exc, OSError) and (exc.errno or exc.strerror):
        text = os.strerror(exc.errno) if exc.errno else str(exc.strerror)
        return text[0].lower() + text[1:]
    return str(exc) or type(exc).__name__
