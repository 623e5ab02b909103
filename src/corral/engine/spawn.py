"""Provides how a run is started: the argv and environment of a child, and its pipes.

Each child gets its own session (so its process group is its own and no terminal signal
reaches it), stdin from /dev/null, and stdout/stderr on pipes the engine reads.

Every signal starts at its default disposition with an empty blocked mask, whatever the
engine's host inherited or chose (the daemon survives SIGHUP, `corral start &` in a script
starts it with SIGINT and SIGQUIT ignored, `nohup` ignores SIGHUP): an exec resets handlers
but keeps ignored signals and the mask, so an app would otherwise never see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import mmap
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Protocol

from corral.config.spec import AppSpec
from corral.engine import shim
from corral.engine.broker import Channel
from corral.engine.lines import LineSplitter
from corral.engine.sockets import FIRST_FD, SharedSockets
from corral.engine.tree import TOKEN_VAR

IDLE_FLUSH_S = 0.1
"""A partial line (no newline yet) is handed out after this long without more bytes."""
COALESCE_S = 0.02
"""After a small read, wait this long before the next one so a chatty child's lines
arrive together (a line's time stamp may be up to this late)."""
READ_CHUNK = 128 * 1024 - 256
"""Largest pipe read, and so the largest block of lines copied out of one: the biggest
bytes object glibc still serves from the heap (under its 128 KiB mmap threshold, header
included), so a burst reuses the same few heap blocks instead of mapping and faulting in
every one, and never makes glibc raise that threshold, after which freed blocks would stay
resident (issue 19: the daemon grew 3 MiB during a 1M-line burst with 256 KiB reads)."""
LENT_READ = 512 * 1024
"""Pipe read while lines may be lent to the log files as they lie in the read buffer:
half the kernel's pipe buffer, so a burst is few wake-ups for both sides."""
PIPE_SIZE = 1024 * 1024
"""Kernel buffer asked for each output pipe (Linux's default limit for a user is 1 MiB)."""
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a child is, as told to it through its environment."""

    id: int
    name: str
    namespace: str
    instance: int
    increment_value: int | None
    home: str


def argv_for(spec: AppSpec) -> list[str]:
    """The command line: interpreter and its args, the script, then the script's args."""
    if spec.interpreter is None:
        return [spec.script, *spec.args]
    preload = shim.node_preload(spec)
    return [spec.interpreter, *preload, *spec.interpreter_args, spec.script, *spec.args]


def env_for(spec: AppSpec, who: Identity, token: str) -> dict[str, str]:
    """The child's environment: the spec's (already layered) env plus corral's variables."""
    env = dict(spec.env)
    env.update(
        CORRAL_HOME=who.home,
        CORRAL_ID=str(who.id),
        pm_id=str(who.id),
        name=who.name,
        namespace=who.namespace,
    )
    env[spec.instance_var] = str(who.instance)
    if spec.increment_var and who.increment_value is not None:
        env[spec.increment_var] = str(who.increment_value)
    env[TOKEN_VAR] = token
    return env


def new_token() -> str:
    """A unique mark for one run; its descendants inherit it (see tree.py)."""
    return os.urandom(8).hex()  # not `secrets`: it loads OpenSSL into the daemon


_RESETTABLE = tuple(sorted(set(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}, key=int))
_RESTORED = frozenset({signal.SIGPIPE, getattr(signal, "SIGXFSZ", signal.SIGPIPE)})
"""What Popen's restore_signals already puts back to default (Python ignores both)."""


def inherits_signal_state() -> bool:
    """Whether a child forked from this thread would get a blocked or an ignored signal."""
    if signal.pthread_sigmask(signal.SIG_BLOCK, ()):
        return True
    for sig in _RESETTABLE:
        if sig not in _RESTORED and signal.getsignal(sig) is signal.SIG_IGN:
            return True
    return False


def _default_signals() -> None:
    """In the child, before exec: every disposition to default, nothing blocked."""
    for sig in _RESETTABLE:
        with contextlib.suppress(OSError, ValueError):  # 32 and 33 belong to libc
            signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def spawn(
    spec: AppSpec,
    env: dict[str, str],
    sockets: SharedSockets | None = None,
    channel: Channel | None = None,
) -> subprocess.Popen[bytes]:
    """Start the child in a new session with piped output. Raises OSError when exec fails.

    With SOCKETS the child inherits them as fds 3, 4, … (systemd socket activation);
    with CHANNEL it inherits the broker's end too, named as its shim expects.
    """
    argv = argv_for(spec)
    pass_fds: tuple[int, ...] = ()
    extra = (channel.child.fileno(),) if channel is not None else ()
    channel_fd = extra[0] if extra else -1
    if sockets is not None and sockets.sockets:
        argv = sockets.wrap(argv, extra)
        pass_fds = sockets.fds()
        env = {**env, **sockets.env()}
        channel_fd = FIRST_FD + len(sockets.sockets)
    which = shim.kind(spec)
    if channel is not None and which is not None:
        pass_fds += extra
        env = {**env, **shim.env(spec, which, channel_fd, env)}
    popen = subprocess.Popen(
        argv,
        cwd=spec.cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Unbuffered pipe objects: asyncio reads the descriptors itself, and a buffered
        # reader would hold an 8 KiB buffer per stream that nothing ever fills.
        bufsize=0,
        start_new_session=True,
        close_fds=True,
        pass_fds=pass_fds,
        # Python code between fork and exec costs a fork instead of a vfork: only when the
        # host has something to undo (it runs after setsid, which start_new_session does).
        preexec_fn=_default_signals if inherits_signal_state() else None,
    )
    for pipe in (popen.stdout, popen.stderr):
        # A bigger pipe means fewer wake-ups for a chatty child (the default is 64 KiB).
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), F_SETPIPE_SZ, PIPE_SIZE)  # type: ignore[union-attr]
    return popen


LineSink = Callable[[float, bytes], None]
"""Receives the time the bytes were read and the block of lines they completed."""


class Lender(Protocol):
    """Takes whole lines as they lie in the read buffer, instead of a block of them."""

    def willing(self) -> bool:
        """Whether the next read's lines may be lent (asked before it: it sizes the read)."""
        ...

    def lend(self, partial: bytes, lines: memoryview) -> None:
        """Write PARTIAL (the line held from earlier reads) and LINES (whole lines, the
        last newline included) as they are. LINES is a view of a buffer the next read
        overwrites: nothing of it may be kept."""
        ...


_buffers = threading.local()


def _read_buffer() -> mmap.mmap:
    """The buffer every pipe read of this thread goes into (a loop reads one at a time).

    Anonymous memory, so only the pages a read reaches are resident: a few lines a
    second touch one page; a burst all LENT_READ bytes, once."""
    buffer: mmap.mmap | None = getattr(_buffers, "buffer", None)
    if buffer is None:
        buffer = _buffers.buffer = mmap.mmap(-1, LENT_READ)
    return buffer


class PipeReader:
    """Reads one output pipe to its end, handing whole lines to a sink, stamped when read.

    Each read, its split into lines and the sink's work happen in one readiness callback,
    into a buffer all pipes share. asyncio's pipe transport allocates a bytes object for
    every read and hands it to a protocol, whose queue a task drains after a future wakes
    it on the next turn of the loop: two turns and a dozen Python calls per read, which
    was half the daemon's time in a 1M-line burst (issue 19: 97 ms against 53 ms for the
    same 56 MB in one experiment). The sink runs before the next read, so a child that
    writes faster than its lines are handled blocks on its full pipe: backpressure, with
    nothing read and waiting in between, and never a lost line.

    With a LENDER (the log files, while nothing else takes lines), whole lines that need
    no change are offered to it as they lie in the buffer, and reads are LENT_READ long:
    no block is made, nothing copied (issue 19: a plain 1M-line burst is then a read
    and a write per half megabyte, as supervisord's is per 128 KiB).
    """

    SMALL_READ = 4096
    """A read this short is a trickle: reading rests COALESCE_S before the next one."""

    def __init__(self, fd: int, sink: LineSink, lender: Lender | None = None) -> None:
        self._fd = fd
        self._sink = sink
        self._lender = lender
        self._loop = asyncio.get_running_loop()
        self._splitter = LineSplitter()
        self.done: asyncio.Future[None] = self._loop.create_future()
        """Resolves when the pipe reached its end and every line was handed out."""
        self._last_read = 0.0
        self._idle: asyncio.TimerHandle | None = None
        self._resting: asyncio.TimerHandle | None = None
        self._loop.add_reader(fd, self._readable)

    def close(self) -> None:
        """Stop reading now (idempotent); a partial line still held is handed out."""
        if self.done.done():
            return
        if self._resting is not None:
            self._resting.cancel()
        else:
            self._loop.remove_reader(self._fd)
        if self._idle is not None:
            self._idle.cancel()
        rest = self._splitter.flush()
        self.done.set_result(None)
        if rest is not None:
            self._sink(time.time(), rest)

    def _readable(self) -> None:
        buffer = _read_buffer()
        view = memoryview(buffer)
        lender, splitter = self._lender, self._splitter
        lending = lender is not None and lender.willing()
        try:
            size = os.readv(self._fd, (view if lending else view[:READ_CHUNK],))
        except BlockingIOError:
            return
        except OSError:
            size = 0  # a read error ends the stream like EOF: nothing more will come
        if not size:
            self.close()
            return
        end = splitter.plain_end(buffer, size) if lending else 0
        if end and lender is not None:
            lender.lend(splitter.partial, view[:end])
            splitter.hold(buffer, end, size)
        else:
            for start in range(0, size, READ_CHUNK):  # blocks stay heap-sized
                block = splitter.feed(buffer, start, min(size, start + READ_CHUNK))
                if block is not None:
                    self._sink(time.time(), block)
        if splitter.pending:
            self._last_read = self._loop.time()
            if self._idle is None:
                self._idle = self._loop.call_at(self._last_read + IDLE_FLUSH_S, self._flush)
        if size < self.SMALL_READ and not self.done.done():
            # A trickle: let a few more lines gather in the pipe before the next wake-up.
            # The cost is per wake-up, not per byte; a stamp is at most this much later.
            self._loop.remove_reader(self._fd)
            self._resting = self._loop.call_later(COALESCE_S, self._rested)

    def _rested(self) -> None:
        self._resting = None
        self._loop.add_reader(self._fd, self._readable)

    def _flush(self) -> None:
        """Hand out a partial line once IDLE_FLUSH_S passed without more bytes (a prompt)."""
        self._idle = None
        if not self._splitter.pending:
            return
        due = self._last_read + IDLE_FLUSH_S
        if self._loop.time() < due:
            self._idle = self._loop.call_at(due, self._flush)
            return
        rest = self._splitter.flush()
        if rest is not None:
            self._sink(time.time(), rest)


def read_lines(pipe: IO[bytes], sink: LineSink, lender: Lender | None = None) -> PipeReader:
    """Start reading PIPE (made non-blocking) into SINK; see PipeReader."""
    fd = pipe.fileno()
    os.set_blocking(fd, False)
    return PipeReader(fd, sink, lender)


def close_quietly(popen: subprocess.Popen[bytes]) -> None:
    """Close our ends of the child's pipes (after their readers ended)."""
    for pipe in (popen.stdout, popen.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def decode_status(status: int) -> tuple[int | None, str | None]:
    """(exit code, signal name) from a raw wait status; exactly one is not None."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            return None, signal.Signals(sig).name
        except ValueError:
            return None, str(sig)
    return os.waitstatus_to_exitcode(status), None
