"""Helpers shared by the test modules: fixture apps, waiting on conditions, the CLI runner.

Test modules import from here (and from tests/tui/pilot.py, tests/tui/scripted.py,
tests/sshd.py), never from one another: a test module is collected by pytest, and importing
it from elsewhere runs its module code twice and ties the two modules' fates together.

Waiting is always on a condition with a deadline (`wait_until`, `Recorder.wait_for`),
never on elapsed time: under load a fixed sleep is either too short or wasted.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import psutil
import pytest

from corral.cli.main import main
from corral.config import spec_from_mapping
from corral.config.spec import AppSpec
from corral.daemon.client import Client
from corral.engine import Supervisor
from corral.engine.events import Event, Lifecycle, LogLines
from corral.home import Home

T = TypeVar("T")

APPS = Path(__file__).parent / "apps"
"""The small programs the tests run (tests/apps)."""
PYTHON = sys.executable
SLEEPER = str(APPS / "sleeper.py")
Sup = tuple[Supervisor, "Recorder"]
"""What the `sup` fixture gives: an opened Supervisor and the Recorder of its events."""
POLL_S = 0.02
"""How often a wait re-checks a condition that has no event to wake it."""
DEADLINE_S = 30.0
"""How long a wait gives its condition before the test fails. Generous on purpose: a wait
ends the moment its condition holds, so the figure costs nothing when the test passes,
and a 2-core machine running other suites can take many seconds to start a Python."""


def app(script: str, name: str | None = None, **kw: Any) -> AppSpec:
    """An AppSpec running tests/apps/SCRIPT with this Python."""
    kw.setdefault("env", dict(os.environ, PYTHONUNBUFFERED="1"))
    return AppSpec(
        name=name or script.removesuffix(".py"),
        script=str(APPS / script),
        cwd=str(APPS),
        interpreter=PYTHON,
        **kw,
    )


def spec_in(folder: Path, **raw: Any) -> AppSpec:
    """The spec RAW resolves to in FOLDER (script app.py unless given), PATH as here."""
    raw.setdefault("script", "app.py")
    return spec_from_mapping(raw, cwd=str(folder), base_env={"PATH": os.environ["PATH"]})


def free_port() -> int:
    """A loopback port nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Recorder:
    """Collects events; tests wait on a condition with a deadline, never on a sleep."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[list[Event]], bool], timeout: float = DEADLINE_S
    ) -> list[Event]:
        """Return the events once PREDICATE holds; fail the test after TIMEOUT seconds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"condition not met in {timeout} s; last events: {self.events[-8:]}")
            self._changed.clear()
            # Wake on the next event, or after a short poll for conditions outside the
            # event stream (a pid file, a process gone).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, POLL_S))
        return self.events


def wait_until(
    predicate: Callable[[], object], timeout: float = DEADLINE_S, what: str = ""
) -> None:
    """Poll PREDICATE until true; fail after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)


def descendants() -> set[int]:
    """Live (non-zombie) descendants of the test process."""
    out = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                out.add(proc.pid)
        except psutil.Error:
            pass
    return out


def gone(pid: int) -> bool:
    """PID has exited (a zombie counts as gone; it is reaped if it is our child)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def processes_of(root: str) -> list[int]:
    """Live processes whose environment names ROOT as CORRAL_HOME (daemon and apps)."""
    marker = f"CORRAL_HOME={root}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                if marker in handle.read().split(b"\0") and not gone(int(name)):
                    found.append(int(name))
        except OSError:
            continue
    return found


class Corral:
    """Runs the CLI (in-process or as a subprocess) against one private home."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.home = Home(self.root)

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        """Run `corral ARGV` in this process; (exit code, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse errors
                code = exc.code if isinstance(exc.code, int) else 2
        return code, out.getvalue(), err.getvalue()

    def ok(self, *argv: str) -> str:
        """Run and require exit 0; returns stdout."""
        code, out, err = self(*argv)
        assert code == 0, f"corral {' '.join(argv)} -> {code}\n{out}\n{err}"
        return out

    def spawn(self, *argv: str) -> subprocess.Popen[str]:
        """`python -m corral ARGV` as a separate process."""
        return subprocess.Popen(
            [PYTHON, "-m", "corral", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, CORRAL_HOME=self.root),
        )

    def client(self) -> Client:
        return Client.connect(self.home)

    def rows(self) -> list[dict[str, Any]]:
        with self.client() as client:
            rows: list[dict[str, Any]] = client.call("list")
        return rows

    def pid(self) -> int:
        pid = self.home.daemon_pid()
        assert pid is not None
        return pid

    def teardown(self) -> list[int]:
        """Stop the daemon (SIGTERM: apps stop gracefully); kill and return leftovers."""
        pid = self.home.daemon_pid()
        if pid is not None and not gone(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while not gone(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
        left = processes_of(self.root)
        for leftover in left:
            with contextlib.suppress(OSError):
                os.killpg(leftover, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(leftover, signal.SIGKILL)
        return left


def unlocked(path: str) -> bool:
    """Nobody holds the daemon's flock on PATH any more (its pid file, once it has exited)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the probe's own lock
    return True


def saved(corral: Corral) -> list[dict[str, Any]]:
    """The apps in CORRAL's dump.json ([] when there is none)."""
    try:
        body = json.loads(Path(corral.root, "dump.json").read_text())
    except FileNotFoundError:
        return []
    apps: list[dict[str, Any]] = body["apps"]
    return apps


def statuses(corral: Corral) -> list[tuple[int, str, str]]:
    """(id, name, status) of each app in CORRAL's dump.json."""
    return [(a["id"], a["name"], a["status"]) for a in saved(corral)]


class Up:
    """A running `corral up --no-ui` whose output is read line by line with deadlines."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "corral", "up", "--no-ui", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_all, args=(self.proc.stdout, self.lines)),
            threading.Thread(target=self._read_all, args=(self.proc.stderr, self.errors)),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read_all(stream: IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_for(
        self, pattern: str, count: int = 1, timeout: float = DEADLINE_S, stderr: bool = False
    ) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = [
                line for line in (self.errors if stderr else self.lines) if re.search(pattern, line)
            ]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline or self.proc.poll() is not None:
                out, err = "\n".join(self.lines), "\n".join(self.errors)
                pytest.fail(f"{pattern!r} x{count} not seen; output:\n{out}\nstderr:\n{err}")
            time.sleep(0.02)  # polling a pipe with a deadline

    def finish(self, timeout: float = DEADLINE_S) -> tuple[int, str]:
        self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout)
        return self.proc.returncode, "\n".join(self.errors)


def eco(tmp_path: Path, body: str) -> Path:
    """TMP_PATH/corral.toml holding BODY, with APPS standing for tests/apps."""
    path = tmp_path / "corral.toml"
    path.write_text(body.replace("APPS", str(APPS)))
    return path


def rss(pid: int) -> int:
    """Resident bytes of PID (VmRSS)."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def settled_rss(pid: int, samples: int = 5) -> int:
    """The smallest of a few readings 50 ms apart: idle memory, not a passing peak."""
    readings = []
    for _ in range(samples):
        readings.append(rss(pid))
        time.sleep(0.05)  # spacing readings, not synchronising anything
    return min(readings)


def crash(corral: Corral) -> None:
    """kill -9 the daemon and wait until its pid file lock is free (it is truly gone)."""
    pid = corral.pid()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: gone(pid) and unlocked(corral.home.pid_file), what="the daemon's death")


def recover(corral: Corral) -> str:
    """Start a new daemon (it recovers before it answers); its stderr line."""
    code, _out, err = corral("ping")
    assert code == 0, err
    return err


def said(events: list[Event], pattern: str, text: bool = False) -> list[str]:
    """Log lines (text=True: app output; else also supervisor lines) matching PATTERN."""
    found = [t for e in events if isinstance(e, LogLines) for t in e.texts()]
    if not text:
        found += [e.message for e in events if isinstance(e, Lifecycle)]
    return [t for t in found if re.search(pattern, t, re.IGNORECASE)]


def tmux(socket: str, *argv: str) -> str:
    """Run `tmux -S SOCKET ARGV…` (a private server, never the user's, even from inside
    tmux) and return what it printed."""
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    done = subprocess.run(
        ["tmux", "-S", socket, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=True,
    )
    return done.stdout


def ended_by_interrupt(proc: subprocess.Popen[Any], timeout: float = 30) -> int:
    """Send SIGINT to PROC (its group when it leads one) and return its exit code; if it
    does not end within TIMEOUT, fail with what the kernel says about it (its signal
    masks, where it sleeps, its threads), then kill it."""
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        facts = []
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
            facts += [
                line for line in status if line.startswith(("State", "Sig", "Shd", "Threads"))
            ]
            facts.append("wchan " + Path(f"/proc/{proc.pid}/wchan").read_text())
        proc.kill()
        proc.wait()
        pytest.fail(f"{proc.args!r} did not end within {timeout} s of SIGINT: {facts}")


def lead_with_slow(items: list[T], is_slow: Callable[[T], bool], workers: int) -> list[T]:
    """ITEMS reordered for WORKERS xdist workers so that each starts on its slow ones.

    xdist's worksteal scheduler hands the k-th worker the k-th of consecutive shares of
    the collection, sized `len(pending) // (workers - k)` in turn, and an idle worker then
    steals from the end of the longest queue. So the slow items are dealt round-robin to
    the heads of those shares, and the rest fill them in their given order: the long tests
    start first and the short ones are what gets stolen at the end.
    """
    slow = [item for item in items if is_slow(item)]
    if not slow:
        return list(items)
    rest = iter([item for item in items if not is_slow(item)])
    workers = max(1, workers)
    out: list[T] = []
    pending = len(items)
    for k in range(workers):
        share = slow[k::workers]
        size = pending // (workers - k)
        share += [item for _, item in zip(range(size - len(share)), rest, strict=False)]
        out += share
        pending -= len(share)
    out += list(rest)
    return out


def any_text(max_size: int) -> Any:
    """A Hypothesis strategy: text of any code point but surrogates (which UTF-8 cannot
    carry). Not st.text()'s default alphabet, whose surrogate exclusion is by Unicode
    category: its first use builds Hypothesis's category table (cached in .hypothesis/,
    which a fresh clone lacks): 5 CPU-s, 39 s for one test beside two CPU hogs. Every
    category, less the surrogates by code point, needs no table."""
    from hypothesis import strategies as st

    surrogates = "".join(map(chr, range(0xD800, 0xE000)))
    chars = st.characters(exclude_categories=(), exclude_characters=surrogates)
    return st.text(chars, max_size=max_size)
