"""Provides Client: the CLI's small synchronous RPC client (socket + json, no asyncio).

`corral jlist` runs connect, one `call`, print: nothing here imports the engine, asyncio
or psutil, so a hot verb costs little more than the interpreter's start.

    with Client.connect(home()) as client:
        rows = client.call("list")
"""

from __future__ import annotations

import socket

from corral.daemon import protocol
from corral.home import Home

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

CONNECT_TIMEOUT_S = 5.0


class NotRunning(ConnectionError):
    """No daemon answers on the socket."""


class DaemonError(Exception):
    """The daemon answered with an error (its `code` says which kind)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Client:
    """One connection to the daemon; calls are answered in order."""

    def __init__(self, sock: socket.socket, daemon: protocol.Hello) -> None:
        self.sock = sock
        self.daemon = daemon
        """The daemon's hello: its protocol `version`, `corral` release, pid and home."""
        self._reader = sock.makefile("rb")
        self._next_id = 0

    @classmethod
    def connect(cls, where: Home, timeout: float = CONNECT_TIMEOUT_S) -> Client:
        """Connect and shake hands; NotRunning when nothing answers."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(where.socket)
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as exc:
            sock.close()
            raise NotRunning(f"no daemon answers on {where.socket}") from exc
        except OSError:
            sock.close()
            raise
        try:
            sock.sendall(protocol.encode(protocol.hello()))
            reader = sock.makefile("rb")
            first = reader.readline()
            if not first:
                raise NotRunning("the daemon closed the connection")
            message = protocol.decode(first)
            if "error" in message:
                raise _error(message["error"])
            daemon = protocol.parse_hello(message)
        except (OSError, protocol.ProtocolError, DaemonError):
            sock.close()
            raise
        sock.settimeout(None)  # a stop may legitimately take kill_timeout
        client = cls(sock, daemon)
        client._reader = reader
        return client

    def call(self, method: str, **params: Any) -> Any:
        """Send one request and return its result; DaemonError if it failed."""
        self._next_id += 1
        request_id = self._next_id
        self._send(protocol.request(request_id, method, params))
        while True:
            message = self._receive()
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
        self._reader.close()
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.sock.sendall(protocol.encode(message))
        except OSError as exc:
            raise NotRunning(f"the daemon went away: {exc}") from exc

    def _receive(self) -> dict[str, Any]:
        try:
            line = self._reader.readline()
        except OSError as exc:
            raise NotRunning(f"the daemon went away: {exc}") from exc
        if not line.endswith(b"\n"):
            raise NotRunning("the daemon closed the connection")
        return protocol.decode(line)


def _error(body: object) -> DaemonError:
    if isinstance(body, dict):
        return DaemonError(str(body.get("code", "error")), str(body.get("message", body)))
    return DaemonError("error", str(body))
