"""Provides Channel: how a child asks the engine for a listening socket, and says `ready`.

Each run that gets a shim (see shim.py) inherits one end of a Unix socketpair. Messages
are JSON lines, Node's IPC framing, so for a Node child the same fd is NODE_CHANNEL_FD:
its process.send() works (pm2's `process.send('ready')` resolves readiness) and the
engine can hand it a listening socket as Node hands handles to a child ("NODE_HANDLE",
type "net.Native", the fd riding on the line with SCM_RIGHTS).

- Node: `{"cmd": "NODE_CORRAL_LISTEN", "seq": N, "family": "any", "port": 8000}`;
  the answer comes on the channel, with the socket or with an errno.
- Python: `{"op": "listen", "family": "inet", "host": "0.0.0.0", "port": 8000}` with a
  fresh socket attached; the answer goes back on that socket and it is closed. A
  private reply socket per request lets any process of the app's tree ask safely over
  one inherited channel (a dev server's reloader child, a pre-forking server's worker).

The socket comes from the supervisor's SocketPool: bound once per address, shared by
every instance and every app that asks for it, closed when its last app is deleted.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import errno
import json
import os
import socket
from collections.abc import Callable
from typing import Any

from corral.config.listen import ListenAddress
from corral.engine.sockets import Options, SocketPool

MAX_FDS = 4
"""File descriptors accepted with one read (a request carries one)."""
MAX_LINE = 64 * 1024
"""A line longer than this is not a request: the channel is closed."""
DETACH_GRACE_S = 0.1
"""After the processes stopped accepting, time for requests on connections they had just
accepted to arrive, before the stop signal (a bounded grace, not a synchronisation)."""

Say = Callable[[str, str], None]


class Channel:
    """One run's end of the broker; `ready` resolves when the child sends "ready"."""

    def __init__(self, pool: SocketPool, user: str, say: Say) -> None:
        self.pool, self.user, self._say = pool, user, say
        self.parent, self.child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.parent.setblocking(False)
        self.child.set_inheritable(True)
        self._loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[bool] = self._loop.create_future()
        self.listening: asyncio.Future[bool] = self._loop.create_future()
        """Resolves once the child got a shared socket (PM2's `listening`: a reload waits
        for it before stopping the instance being replaced)."""
        self._buffer = b""
        self._fds: list[int] = []
        self._closed = False
        self._controls: list[socket.socket] = []
        self._loop.add_reader(self.parent.fileno(), self._readable)

    def started(self) -> None:
        """The child holds its end now: drop ours, so its exit reads as end of file."""
        self.child.close()

    def close(self) -> None:
        """Stop serving this run (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self.parent.fileno())
        self.parent.close()
        self.child.close()
        for conn in self._controls:
            conn.close()
        self._controls = []
        _close_fds(self._fds)
        self._fds = []

    # ---------------------------------------------------------------- reading

    def _readable(self) -> None:
        try:
            data, ancdata, _flags, _addr = self.parent.recvmsg(
                MAX_LINE,
                socket.CMSG_SPACE(MAX_FDS * array.array("i").itemsize),
                socket.MSG_CMSG_CLOEXEC,  # never leaked into a child spawned meanwhile
            )
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        self._fds.extend(_fds_of(ancdata))
        if not data:
            self.close()  # the child (and every process it shared the channel with) is gone
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > MAX_LINE:
            self.close()
            return
        for index, line in enumerate(lines):
            # A read stops right after a message that carries descriptors (the kernel never
            # merges past them), so they belong to the last complete line.
            fds, self._fds = (self._fds, []) if index == len(lines) - 1 else ([], self._fds)
            try:
                self._handle(line, fds)
            finally:
                _close_fds(fds)

    def _handle(self, line: bytes, fds: list[int]) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        if message == "ready":  # pm2's process.send('ready')
            if not self.ready.done():
                self.ready.set_result(True)
        elif not isinstance(message, dict):
            return
        elif message.get("cmd") == "NODE_CORRAL_LISTEN":
            self._node_listen(message)
        elif message.get("op") == "listen" and fds:
            self._python_listen(message, fds.pop(0))

    # --------------------------------------------------------------- answering

    def _acquire(self, message: dict[str, Any]) -> socket.socket:
        address = _address(message)
        options = Options(_flag(message.get("v6only")), message.get("reuse_port") is True)
        try:
            sock = self.pool.acquire(self.user, address, options)
        except OSError as exc:
            self._say(f"cannot share {address.text} with the app: {exc.strerror or exc}", "error")
            raise
        if not self.listening.done():
            self.listening.set_result(True)
        return sock

    def _node_listen(self, message: dict[str, Any]) -> None:
        seq = message.get("seq")
        try:
            sock = self._acquire(message)
        except OSError as exc:
            self._send(_failure("NODE_CORRAL_SOCKET", seq, exc))
            return
        answer = {"cmd": "NODE_CORRAL_SOCKET", "seq": seq}
        # Non-blocking, as Node's own cluster primary hands out: libuv accepts until
        # EAGAIN and does not set it on a handle it receives. Blocking, an instance's main
        # thread could wait in accept4() after a connection, on the one it had just taken
        # unread (a request timed out after 5 s, under load). O_NONBLOCK belongs to the
        # socket every instance shares; the engine never accepts on it itself.
        sock.setblocking(False)
        self._send({"cmd": "NODE_HANDLE", "type": "net.Native", "msg": answer}, sock.fileno())

    def _python_listen(self, message: dict[str, Any], reply_fd: int) -> None:
        reply = socket.socket(fileno=reply_fd)
        try:
            sock = self._acquire(message)
        except OSError as exc:
            with reply:
                _reply(reply, _failure("listen", None, exc))
            return
        try:
            _reply(reply, {"ok": True}, sock.fileno())
        except OSError:
            reply.close()
            return
        reply.setblocking(False)
        self._controls.append(reply)  # the process that holds the socket listens here

    async def detach(self, timeout: float) -> None:
        """Ask every process of the run that holds a shared socket (Python) to stop taking
        connections, and wait (at most TIMEOUT) until each says so or is gone. Called
        before the stop signal: a server that shuts down on the signal itself then
        closes nothing it had just accepted."""
        controls, self._controls = self._controls, []
        if not controls:
            return

        async def one(conn: socket.socket) -> None:
            with conn:
                try:
                    conn.send(b"detach\n", socket.MSG_DONTWAIT)
                    await self._loop.sock_recv(conn, 64)
                except OSError:
                    pass

        await asyncio.wait([asyncio.ensure_future(one(c)) for c in controls], timeout=timeout)
        for conn in controls:
            conn.close()
        # Connections taken just before stay with the process; let their requests arrive.
        await asyncio.sleep(DETACH_GRACE_S)

    def _send(self, message: dict[str, Any], fd: int | None = None) -> None:
        if self._closed:
            return
        try:
            _reply(self.parent, message, fd)
        except OSError as exc:
            # The child stopped reading (or is gone): its request will time out there.
            self._say(f"could not answer the app on its channel: {exc}", "warn")


def _reply(sock: socket.socket, message: dict[str, Any], fd: int | None = None) -> None:
    line = json.dumps(message, separators=(",", ":")).encode() + b"\n"
    ancdata = [] if fd is None else [(socket.SOL_SOCKET, socket.SCM_RIGHTS, _fd_bytes(fd))]
    sock.sendmsg([line], ancdata, socket.MSG_DONTWAIT)


def _failure(cmd: str, seq: object, exc: OSError) -> dict[str, Any]:
    number = exc.errno or errno.EINVAL
    return {
        "cmd": cmd,
        "seq": seq,
        "ok": False,
        "errno": number,
        "code": errno.errorcode.get(number, "EINVAL"),
        "message": str(exc.strerror or exc),
    }


def _address(message: dict[str, Any]) -> ListenAddress:
    """The address asked for: an IP literal (the child resolves names) and a port."""
    family, host, port = message.get("family"), message.get("host"), message.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise OSError(errno.EINVAL, f"bad port {port!r}")
    if family == "any":
        return ListenAddress(f":{port}", "any", port=port)
    if family not in ("inet", "inet6") or not isinstance(host, str):
        raise OSError(errno.EINVAL, f"bad address {host!r} ({family!r})")
    try:
        socket.inet_pton(socket.AF_INET6 if family == "inet6" else socket.AF_INET, host)
    except OSError:
        raise OSError(errno.EINVAL, f"bad address {host!r}") from None
    text = f"[{host}]:{port}" if family == "inet6" else f"{host}:{port}"
    return ListenAddress(text, family, host=host, port=port)


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _fd_bytes(fd: int) -> bytes:
    return array.array("i", [fd]).tobytes()


def _fds_of(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    fds: list[int] = []
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            items = array.array("i")
            items.frombytes(data[: len(data) - len(data) % items.itemsize])
            fds.extend(items)
    return fds


def _close_fds(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
