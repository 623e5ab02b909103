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
import collections
import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

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
"""Largest pipe read: the biggest whose bytes object glibc still serves from the heap
(under its 128 KiB mmap threshold, header included), so a burst reuses the same few heap
blocks instead of mapping and faulting in every read, and never makes glibc raise that
threshold, after which freed blocks would stay resident (issue 19: the daemon grew 3 MiB
during a 1M-line burst with 256 KiB reads). Half as many reads as 64 KiB ones: a 1M-line
burst went from 4.9M to 8.2M lines/s with the line count below (benchmarks/RESULTS.md)."""
PIPE_SIZE = 1024 * 1024
"""Kernel buffer asked for each output pipe (Linux's default limit for a user is 1 MiB)."""
QUEUE_HIGH = 256 * 1024
"""Bytes read but not yet handled at which reading pauses (the child then blocks):
two reads, which the kernel's 1 MiB pipe buffer backs, so pausing costs no speed."""
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


async def pump(pipe: IO[bytes], sink: LineSink) -> None:
    """Read PIPE to its end, handing complete lines to SINK, stamped when read.

    Reading pauses while QUEUE_HIGH bytes wait to be handled, so a child that writes
    faster than the sink consumes blocks on its pipe: backpressure, never loss.
    """
    loop = asyncio.get_running_loop()
    transport, chunks = await loop.connect_read_pipe(PipeChunks, pipe)
    splitter = LineSplitter()
    sizer = ReadSizer(transport)
    try:
        while True:
            if splitter.pending:
                try:
                    chunk = await asyncio.wait_for(chunks.read(), IDLE_FLUSH_S)
                except TimeoutError:
                    rest = splitter.flush()
                    if rest is not None:
                        sink(time.time(), rest)
                    continue
            else:
                chunk = await chunks.read()
            if not chunk:
                break
            sizer.saw(len(chunk))
            block = splitter.feed(chunk)
            if block is not None:
                sink(time.time(), block)
            if len(chunk) < ReadSizer.SMALL_READ // 4:
                # A trickle: let a few more lines gather in the pipe before the next
                # wake-up (reading paused, so the loop is not woken per line). The cost is
                # per wake-up, not per byte; the stamp is at most this much later.
                chunks.hold(True)
                await asyncio.sleep(COALESCE_S)
                chunks.hold(False)
        rest = splitter.flush()
        if rest is not None:
            sink(time.time(), rest)
    finally:
        transport.close()


class PipeChunks(asyncio.Protocol):
    """A pipe's reads, handed out as the transport delivered them.

    asyncio's StreamReader copies every read into its buffer and copies it out again;
    at hundreds of megabytes a second those two copies were a fifth of the daemon's
    time. Here a read is queued as the bytes object it already is.
    """

    def __init__(self) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._eof = False
        self._waiter: asyncio.Future[None] | None = None
        self._transport: asyncio.ReadTransport | None = None
        self._full = False
        self._held = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._queued += len(data)
        if self._queued >= QUEUE_HIGH and not self._full:
            self._full = True
            self._apply()
        self._wake()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True  # a read error ends the stream like EOF: nothing more will come
        self._wake()

    async def read(self) -> bytes:
        """The next chunk, or b"" at the end (safe to cancel: nothing is taken then)."""
        while not self._chunks:
            if self._eof:
                return b""
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunk = self._chunks.popleft()
        self._queued -= len(chunk)
        if self._full and self._queued < QUEUE_HIGH // 2:
            self._full = False
            self._apply()
        return chunk

    def hold(self, held: bool) -> None:
        """Pause reading (or stop pausing it) for the caller's own reasons."""
        self._held = held
        self._apply()

    def _apply(self) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        if self._full or self._held:
            self._transport.pause_reading()
        else:
            self._transport.resume_reading()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class ReadSizer:
    """Sizes each pipe read to the child's pace.

    asyncio reads a pipe `max_size` (256 KiB) at a time, and allocating that much for
    every read is an mmap and its page faults: about 40 us for a 60-byte line. A chatty
    child is read in SMALL_READ pieces; the size grows fourfold while reads come back
    full (a burst of a million lines) and drops back once they are small again.
    """

    SMALL_READ = 16 * 1024

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.size = self.SMALL_READ
        self._apply()

    def saw(self, length: int) -> None:
        """Adjust after a read of LENGTH bytes."""
        if length >= self.size and self.size < READ_CHUNK:
            self.size = min(READ_CHUNK, self.size * 4)
            self._apply()
        elif length < self.SMALL_READ // 4 and self.size > self.SMALL_READ:
            self.size = self.SMALL_READ
            self._apply()

    def _apply(self) -> None:
        # `max_size` is what _UnixReadPipeTransport passes to os.read.
        if hasattr(self.transport, "max_size"):
            self.transport.max_size = self.size


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
