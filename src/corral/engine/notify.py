"""Provides readiness: the systemd notify protocol and an HTTP health check.

With `wait_ready = true` a child is `online` only once it sends `READY=1` to the datagram
socket named in NOTIFY_SOCKET (what sd_notify libraries do); each run gets its own
abstract socket, so a message can only come from that run. With `health_check` a URL is
polled until it answers 2xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import urllib.parse


class NotifySocket:
    """One run's NOTIFY_SOCKET; `ready` resolves when READY=1 arrives."""

    def __init__(self, token: str) -> None:
        self.name = f"corral-{os.getpid()}-{token}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind("\0" + self.name)
        self.sock.setblocking(False)
        self._loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[bool] = self._loop.create_future()
        self._loop.add_reader(self.sock.fileno(), self._on_readable)

    @property
    def env_value(self) -> str:
        """NOTIFY_SOCKET's value: `@` marks an abstract socket, as systemd writes it."""
        return "@" + self.name

    def _on_readable(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.close()
                return
            if b"READY=1" in data.split(b"\n") and not self.ready.done():
                self.ready.set_result(True)

    def close(self) -> None:
        """Stop listening (idempotent)."""
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


async def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when a GET of URL answers 2xx (plain HTTP, loopback health endpoints)."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        status = await asyncio.wait_for(reader.readline(), timeout)
        fields = status.split()
        return len(fields) >= 2 and fields[1].startswith(b"2")
    except (OSError, TimeoutError):
        return False
    finally:
        if writer is not None:
            writer.close()


async def poll_health(url: str, interval: float = 0.2) -> bool:
    """Poll URL until it answers 2xx (the caller bounds the wait)."""
    while True:
        if await http_ok(url):
            return True
        await asyncio.sleep(interval)  # an HTTP endpoint has no event to wait on
