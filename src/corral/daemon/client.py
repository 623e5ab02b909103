"""Provides Client: the CLI's small synchronous RPC client (socket + json, no asyncio).

`corral jlist` runs connect, one `call`, print: nothing here imports the engine, asyncio
or psutil, so a hot verb costs little more than the interpreter's start.

    with Client.connect(home()) as client:
        rows = client.call("list")
"""

from __future__ import annotations

import socket

from corral.daemon import protocol
from corral.daemon.trust import Untrusted, check_home, check_peer
from corral.home import Home
from corral.sockpath import connect

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

CONNECT_TIMEOUT_S = 5.0


class NotRunning(ConnectionError):
    """No daemon answers on the socket."""


class DaemonError(RuntimeError):
    """The daemon answered with an error (its `code` says which kind); a RuntimeError, as
    the engine's own command failures are."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Client:
    """One connection to the daemon; calls are answered in order."""

    def __init__(self, link: Link, daemon: protocol.Hello) -> None:
        self.link = link
        """The byte stream to the daemon: its Unix socket, or `ssh HOST corral dial-stdio`."""
        self.daemon = daemon
        """The daemon's hello: its protocol `version`, `corral` release, pid and home."""
        self._next_id = 0

    @classmethod
    def connect(cls, where: Home, timeout: float = CONNECT_TIMEOUT_S) -> Client:
        """Connect to the local daemon and shake hands; NotRunning when nothing answers."""
        sock = open_socket(where, timeout)
        return cls.handshake(SocketLink(sock), timeout)

    @classmethod
    def over_ssh(cls, host: str, timeout: float = CONNECT_TIMEOUT_S) -> Client:
        """Connect to HOST's daemon through `ssh HOST corral dial-stdio` and shake hands."""
        from corral.daemon.remote import SshLink

        return cls.handshake(SshLink.open(host), timeout)

    @classmethod
    def handshake(cls, link: Link, timeout: float = CONNECT_TIMEOUT_S) -> Client:
        """Say hello over LINK and read the daemon's; the link is closed on any failure."""
        try:
            link.settimeout(timeout)
            link.send(protocol.encode(protocol.hello()))
            first = link.readline()
            if not first:
                raise NotRunning(link.closed_reason())
            message = protocol.decode(first)
            if "error" in message:
                raise _error(message["error"])
            daemon = protocol.parse_hello(message)
            link.settimeout(None)  # a stop may legitimately take kill_timeout
        except (OSError, protocol.ProtocolError, DaemonError):
            link.close()
            raise
        return cls(link, daemon)

    def call(self, method: str, **params: Any) -> Any:
        """Send one request and return its result; DaemonError if it failed (bad_params
        without sending when the request is longer than the daemon reads)."""
        self._next_id += 1
        request_id = self._next_id
        line = protocol.encode(protocol.request(request_id, method, params))
        if len(line) > protocol.MAX_LINE:
            raise DaemonError(
                protocol.ErrorCode.BAD_PARAMS,
                f"the {method} request is {len(line)} bytes, more than the "
                f"{protocol.MAX_LINE} bytes a message to the daemon may hold",
            )
        self._send_line(line)
        while True:
            message = self._receive()
            if "error" in message and message.get("id") is None:
                raise _error(message["error"])  # about the connection, not one request
            if message.get("id") != request_id:
                continue
            if "error" in message:
                raise _error(message["error"])
            return message.get("result")

    def subscribe(self, *, logs: bool = True) -> Iterator[dict[str, Any]]:
        """Each process's state first, then live events (`event_to_dict` form), forever."""
        self.call("subscribe", logs=logs)
        while True:
            message = self._receive()
            if "events" in message:
                yield from message["events"]
            elif "error" in message:
                raise _error(message["error"])

    def close(self) -> None:
        """Close the connection."""
        self.link.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send_line(self, line: bytes) -> None:
        try:
            self.link.send(line)
        except OSError as exc:
            raise NotRunning(f"the daemon went away: {exc}") from exc

    def _receive(self) -> dict[str, Any]:
        try:
            line = self.link.readline()
        except OSError as exc:
            raise NotRunning(f"the daemon went away: {exc}") from exc
        if not line.endswith(b"\n"):
            raise NotRunning(self.link.closed_reason())
        return protocol.decode(line)


def open_socket(where: Home, timeout: float = CONNECT_TIMEOUT_S) -> socket.socket:
    """A socket connected to WHERE's daemon (no hello yet); NotRunning when none answers,
    Untrusted (before anything is sent) when the home, the socket or the process behind
    it is not the user's own."""
    check_home(where.root, where.socket)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        connect(sock, where.socket, timeout)
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as exc:
        sock.close()
        raise NotRunning(f"no daemon answers on {where.socket}") from exc
    except OSError:
        sock.close()
        raise
    try:
        check_peer(sock, where.socket)
    except Untrusted:
        sock.close()
        raise
    return sock


class Link:
    """A byte stream to a daemon: what Client needs of a socket or a pipe pair."""

    def send(self, data: bytes) -> None:
        raise NotImplementedError

    def readline(self) -> bytes:
        raise NotImplementedError

    def settimeout(self, timeout: float | None) -> None:
        """Bound each read (None: wait as long as it takes)."""

    def closed_reason(self) -> str:
        """Why the stream ended, for the user."""
        return "the daemon closed the connection"

    def close(self) -> None:
        raise NotImplementedError


class SocketLink(Link):
    """The local daemon's Unix socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._reader = sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def readline(self) -> bytes:
        return self._reader.readline()

    def settimeout(self, timeout: float | None) -> None:
        self.sock.settimeout(timeout)

    def close(self) -> None:
        self._reader.close()
        self.sock.close()


def _error(body: object) -> DaemonError:
    if isinstance(body, dict):
        return DaemonError(str(body.get("code", "error")), str(body.get("message", body)))
    return DaemonError("error", str(body))
