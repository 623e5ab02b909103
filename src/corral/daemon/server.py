"""Provides Server: the daemon's Unix-socket RPC endpoint.

Each connection is isolated: whatever bytes it sends end in an error reply or a closed
connection, never in an exception that reaches the daemon. The socket is created 0600
(umask around bind) in a 0700 home, and every peer's uid is checked with SO_PEERCRED:
only our own uid and root may talk to us.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import traceback
from typing import Any

from corral.daemon import protocol
from corral.daemon.log import log
from corral.daemon.methods import MethodError, Methods
from corral.daemon.protocol import ErrorCode, ProtocolError
from corral.engine.events import LogLines, event_to_dict
from corral.engine.hub import Lagged
from corral.home import Home

MAX_CLIENTS = 256
"""Connections served at once; more are told `busy` and closed (bounds fds and memory)."""

BATCH_WINDOW_S = 0.02
"""Events arriving within this window of each other travel in one message."""


LINGER_S = 2.0
"""After a fatal error, how long the rest of a client's input is read and dropped."""


class AlreadyRunning(RuntimeError):
    """Another daemon answers on the socket."""


def peer_uid(sock: Any) -> int | None:
    """The uid of the process at the other end of a Unix socket (None if unknown)."""
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return None
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


def peer_allowed(uid: int | None, own_uid: int) -> bool:
    """Only the daemon's own user and root may send commands (PM2 allows its group too)."""
    return uid is not None and (uid == own_uid or uid == 0)


class Server:
    """Accepts clients on HOME's socket and serves METHODS to them."""

    def __init__(self, methods: Methods, home: Home, on_kill: Any) -> None:
        self.methods = methods
        self.home = home
        self.on_kill = on_kill
        """Called once a `kill` reply has been sent."""
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task[Any]] = set()
        self._uid = os.getuid()

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
            self._server = await asyncio.start_unix_server(
                self._client, path=path, limit=protocol.MAX_LINE, backlog=128
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
        self._clients.add(task)
        try:
            await self._converse(reader, writer)
        except ProtocolError as exc:
            with contextlib.suppress(Exception):
                writer.write(protocol.encode(protocol.error(exc.id, exc.code, exc.message)))
                await asyncio.wait_for(_last_words(reader, writer), LINGER_S)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # shutting down
        except Exception:  # the last line of defence: one client never takes the daemon down
            log("client handler failed:\n" + traceback.format_exc().rstrip())
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._clients) > MAX_CLIENTS:
            raise ProtocolError(ErrorCode.BUSY, "too many clients", fatal=True)
        uid = peer_uid(writer.get_extra_info("socket"))
        if not peer_allowed(uid, self._uid):
            log(f"refused a client with uid {uid}")
            raise ProtocolError(ErrorCode.FORBIDDEN, f"uid {uid} may not use this daemon")
        writer.write(protocol.encode(protocol.hello(pid=os.getpid(), home=self.home.root)))
        line = await asyncio.wait_for(_read_line(reader), protocol.HANDSHAKE_TIMEOUT_S)
        if line is None:
            return
        protocol.parse_hello(protocol.decode(line))
        while True:
            line = await _read_line(reader)
            if line is None:
                return
            try:
                request = protocol.parse_request(protocol.decode(line))
            except ProtocolError as exc:
                writer.write(protocol.encode(protocol.error(exc.id, exc.code, exc.message)))
                await writer.drain()
                continue
            if request.method == "subscribe":
                writer.write(protocol.encode(protocol.result(request.id, {"subscribed": True})))
                await self._stream(reader, writer, request.params)
                return
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
            log(f"{request.method} failed:\n" + traceback.format_exc().rstrip())
            return protocol.error(request.id, ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}")
        return protocol.result(request.id, value)

    async def _stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, params: dict[str, Any]
    ) -> None:
        """Send events until the client goes away (anything it sends is ignored)."""
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
            while await reader.read(65536):
                pass

        sender = asyncio.create_task(pump())
        watcher = asyncio.create_task(until_eof())
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, watcher):
                task.cancel()
            await asyncio.gather(sender, watcher, return_exceptions=True)
        if sender.done() and not sender.cancelled() and isinstance(sender.exception(), Lagged):
            writer.write(
                protocol.encode(protocol.error(None, ErrorCode.LAGGED, str(sender.exception())))
            )
            await writer.drain()


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
    while await reader.read(1024 * 1024):
        pass


async def _read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next non-blank line; None at EOF (a partial last line means the client left)."""
    while True:
        try:
            line = await reader.readline()
        except ValueError:
            raise ProtocolError(
                ErrorCode.LINE_TOO_LONG,
                f"lines are limited to {protocol.MAX_LINE} bytes",
                fatal=True,
            ) from None
        if not line.endswith(b"\n"):
            return None
        if line.strip():
            return line


def _exists(path: str) -> bool:
    """Whether PATH exists (a dangling socket file counts)."""
    return os.path.lexists(path)


async def _answers(path: str) -> bool:
    """True when something accepts connections on PATH."""
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), 2.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True
