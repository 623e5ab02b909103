"""Provides the systemd notify protocol, one of the ways a run says it is ready.

With `wait_ready = true` a child is `online` only once it sends `READY=1` to the datagram
socket named in NOTIFY_SOCKET (what sd_notify libraries do); each run gets its own
abstract socket, so a message can only come from that run. (Readiness probes, and
`health_check`, are engine/probes.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket


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
