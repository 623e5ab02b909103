"""Provides Server: the daemon's Unix-socket RPC endpoint.

Each connection is isolated: whatever bytes it sends end in an error reply or a closed
connection, never in an exception that reaches the daemon. The socket is created 0600
(umask around bind) in a 0700 home, and every peer's uid is checked with SO_PEERCRED
before it takes a slot: only our own uid and root may talk to us (daemon/admission.py).

Memory per client is bounded in bytes: a hello line of 4 KiB, a request line of
protocol.MAX_LINE, one reply or one event batch in the socket's write buffer, and a
subscriber's queue of hub.SUBSCRIBER_BYTES (a reader that stops reading misses events and
is told so, it never grows the daemon).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import traceback
from typing import Any

from corral.daemon import protocol
from corral.daemon.admission import Admission, peer_allowed, peer_uid
from corral.daemon.framing import CHUNK, LineReader
from corral.daemon.log import log, printable
from corral.daemon.memory import give_back_soon
from corral.daemon.methods import MethodError, RpcDispatcher
from corral.daemon.protocol import ErrorCode, ProtocolError
from corral.engine.events import LogLines, event_to_dict
from corral.home import Home
from corral.sockpath import reachable

__all__ = ["AlreadyRunning", "Server", "batch_window", "peer_allowed", "peer_uid"]

BATCH_WINDOW_S = 0.02
"""Events arriving within this window of each other travel in one message."""

LINGER_S = 2.0
"""After a fatal error, how long the rest of a client's input is read and dropped."""

BIG_BUFFER = 1024 * 1024
"""A connection that buffered more than this asks for memory to be given back as it ends."""

WRITE_HIGH_WATER = 64 * 1024
"""Bytes a client may leave unread in our write buffer before we wait for it to read."""


class AlreadyRunning(RuntimeError):
    """Another daemon answers on the socket."""


class Server:
    """Accepts clients on HOME's socket and serves METHODS to them."""

    def __init__(self, methods: RpcDispatcher, home: Home, on_kill: Any) -> None:
        self.methods = methods
        self.home = home
        self.on_kill = on_kill
        """Called once a `kill` reply has been sent."""
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task[Any]] = set()
        self._uid = os.getuid()
        self._admission = Admission(self._uid)

    async def start(self) -> None:
        """Bind the socket; a stale one is replaced, a live one raises AlreadyRunning."""
        path = self.home.socket
        if _exists(path):
            if await _answers(path):
                raise AlreadyRunning(f"a daemon already answers on {path}")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        old = os.umask(0o177)
        try:
            with reachable(path) as short:
                self._server = await asyncio.start_unix_server(
                    self._client, path=short, limit=CHUNK, backlog=128
                )
        finally:
            os.umask(old)
        os.chmod(path, 0o600)

    async def close(self) -> None:
        """Stop listening, remove the socket and drop every client."""
        if self._server is not None:
            self._server.close()
            self._server = None
        with contextlib.suppress(OSError):
            os.unlink(self.home.socket)
        current = asyncio.current_task()
        tasks = [t for t in self._clients if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------- connections

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        uid = peer_uid(writer.get_extra_info("socket"))
        if uid is None or not peer_allowed(uid, self._uid):
            # Before any slot or buffer: a refused user can never crowd out an allowed one.
            if self._admission.should_log_refusal(uid):
                log(f"refused a client with uid {uid} (logged once a minute)")
            message = f"uid {uid} may not use this daemon"
            refusal = protocol.error(None, ErrorCode.FORBIDDEN, message)
            with contextlib.suppress(Exception):
                writer.write(protocol.encode(refusal))
            writer.close()
            return
        writer.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self._clients.add(task)
        self._admission.arrive(uid, task)
        served = streamed = clean = False
        lines = LineReader(reader)
        try:
            served = await self._greet(uid, task, lines, writer)
            if served:
                streamed = await self._converse(lines, reader, writer)
            clean = True
        except ProtocolError as exc:
            with contextlib.suppress(Exception):
                writer.write(protocol.encode(protocol.error(exc.id, exc.code, exc.message)))
                await asyncio.wait_for(_last_words(reader, writer), LINGER_S)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # shutting down, or evicted by a newer connection that has not said hello
        except Exception:  # the last line of defence: one client never takes the daemon down
            log("client handler failed:\n" + traceback.format_exc().rstrip())
        finally:
            # An exception's traceback can keep this frame, and so the buffer, alive in a
            # reference cycle until the next full collection: let the buffer go now.
            lines.drop_buffer()
            self._clients.discard(task)
            self._admission.leave(uid, task, served=served)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            # A full collection after a flood, a subscriber, or a client that ended in an
            # error (its traceback's frames hold buffers in cycles); after a short clean
            # request, the young generations are enough.
            thorough = lines.peak > BIG_BUFFER or streamed or not clean
            if thorough or not self._clients:
                give_back_soon(full=thorough)

    async def _greet(
        self, uid: int, task: asyncio.Task[Any], lines: LineReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Exchange hellos; True once the client holds a slot."""
        writer.write(protocol.encode(protocol.hello(pid=os.getpid(), home=self.home.root)))
        line = await asyncio.wait_for(lines.line(protocol.MAX_HELLO), protocol.HANDSHAKE_TIMEOUT_S)
        if line is None:
            return False
        protocol.parse_hello(protocol.decode(line))
        if not self._admission.greeted(uid, task):
            raise ProtocolError(ErrorCode.BUSY, "too many clients of this user", fatal=True)
        return True

    async def _converse(
        self, lines: LineReader, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer requests until the client leaves; True if it ended as a subscriber."""
        while True:
            line = await lines.line(protocol.MAX_LINE)
            if line is None:
                return False
            try:
                request = protocol.parse_request(protocol.decode(line))
            except ProtocolError as exc:
                writer.write(protocol.encode(protocol.error(exc.id, exc.code, exc.message)))
                await writer.drain()
                continue
            if request.method == "subscribe":
                writer.write(protocol.encode(protocol.result(request.id, {"subscribed": True})))
                lines.drop_buffer()
                await self._stream(reader, writer, request.params)
                return True
            reply = await self._dispatch(request)
            writer.write(protocol.encode(reply))
            await writer.drain()
            if self.methods.killing and request.method == "kill":
                self.on_kill()

    async def _dispatch(self, request: protocol.Request) -> dict[str, Any]:
        try:
            value = await self.methods.call(request.method, request.params)
        except MethodError as exc:
            return protocol.error(request.id, exc.code, exc.message)
        except Exception as exc:
            log(f"{printable(request.method)} failed:\n" + traceback.format_exc().rstrip())
            return protocol.error(request.id, ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}")
        return protocol.result(request.id, value)

    async def _stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, params: dict[str, Any]
    ) -> None:
        """Send events until the client goes away (anything it sends is ignored).

        `drain` waits while the client leaves more than WRITE_HIGH_WATER unread; meanwhile
        the hub's queue for it fills to its byte limit and then counts what it misses.
        """
        logs = params.get("logs", True) is not False
        window = batch_window(params.get("window_ms"))

        async def pump() -> None:
            async for batch in self.methods.sup.event_batches(window):
                wanted = [e for e in batch if logs or not isinstance(e, LogLines)]
                if wanted:
                    writer.write(
                        protocol.encode(protocol.events([event_to_dict(e) for e in wanted]))
                    )
                    await writer.drain()

        async def until_eof() -> None:
            while await reader.read(CHUNK):
                pass

        sender = asyncio.create_task(pump())
        watcher = asyncio.create_task(until_eof())
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, watcher):
                task.cancel()
            await asyncio.gather(sender, watcher, return_exceptions=True)


def batch_window(window_ms: object) -> float:
    """The subscriber's batching window in seconds: its `window_ms`, within 1 ms to 1 s.

    A terminal UI that redraws its tail a few times a second asks for 100 ms and wakes
    up five times less often than for the default 20 ms; nonsense gets the default.
    """
    if isinstance(window_ms, int | float) and not isinstance(window_ms, bool):
        return min(max(float(window_ms), 1.0), 1000.0) / 1000
    return BATCH_WINDOW_S


async def _last_words(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Deliver the error, then drop what the client still sends until it hangs up.

    Closing a Unix socket with unread input resets it, and the client would lose the
    error it is about to read (a 10 MB line is still being sent when we give up on it).
    """
    await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()
    while await reader.read(CHUNK):
        pass


def _exists(path: str) -> bool:
    """Whether PATH exists (a dangling socket file counts)."""
    return os.path.lexists(path)


async def _answers(path: str) -> bool:
    """True when something accepts connections on PATH."""
    try:
        with reachable(path) as short:
            _reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(short), 2.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True
