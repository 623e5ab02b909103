"""Provides Admission: who may connect to the daemon, and how many at once, per user.

The peer's uid (SO_PEERCRED) is checked before anything else, so a refused user never
holds a slot. Slots are counted per uid, so one user's clients can never lock out
another's. A connection that has not said hello yet is cheap to open and costs a
buffer: each uid may have PRE_HELLO_PER_UID of them, and a newer one evicts the oldest
rather than being refused, since a real CLI sends its hello at once and a silent
connection is only ever someone holding a slot. So `corral list` always gets in.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections import OrderedDict
from typing import Any

MAX_CLIENTS_PER_UID = 256
"""Connections past the hello one uid may hold at once; more are told `busy` (bounds fds
and memory: each may buffer up to one request line)."""

PRE_HELLO_PER_UID = 64
"""Connections one uid may hold before they say hello; a newer one evicts the oldest."""

REFUSAL_LOG_INTERVAL_S = 60.0
"""A refused uid is logged at most once a minute (a flood of them must not fill the disk)."""


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


class Admission:
    """Per-uid bookkeeping of the connections being served."""

    def __init__(self, own_uid: int) -> None:
        self.own_uid = own_uid
        self._waiting: dict[int, OrderedDict[asyncio.Task[Any], None]] = {}
        """Per uid, the connections that have not said hello yet, oldest first."""
        self._served: dict[int, int] = {}
        """Per uid, how many connections are past the hello."""
        self._refused_at: dict[int | None, float] = {}

    def should_log_refusal(self, uid: int | None) -> bool:
        """True when a refusal of UID is worth a line in daemon.log (once a minute)."""
        now = time.monotonic()
        if now - self._refused_at.get(uid, -REFUSAL_LOG_INTERVAL_S) < REFUSAL_LOG_INTERVAL_S:
            return False
        self._refused_at[uid] = now
        return True

    def arrive(self, uid: int, task: asyncio.Task[Any]) -> None:
        """TASK serves a new connection of UID that has not said hello; evicts the oldest
        such connection of UID past PRE_HELLO_PER_UID."""
        waiting = self._waiting.setdefault(uid, OrderedDict())
        waiting[task] = None
        while len(waiting) > PRE_HELLO_PER_UID:
            oldest, _ = waiting.popitem(last=False)
            oldest.cancel()

    def greeted(self, uid: int, task: asyncio.Task[Any]) -> bool:
        """TASK's client said hello: take a slot; False (and no slot) when UID has none left."""
        self._forget_waiting(uid, task)
        if self._served.get(uid, 0) >= MAX_CLIENTS_PER_UID:
            return False
        self._served[uid] = self._served.get(uid, 0) + 1
        return True

    def leave(self, uid: int, task: asyncio.Task[Any], *, served: bool) -> None:
        """TASK's connection ended; SERVED if it held a slot."""
        self._forget_waiting(uid, task)
        if served:
            left = self._served.get(uid, 1) - 1
            if left > 0:
                self._served[uid] = left
            else:
                self._served.pop(uid, None)

    def _forget_waiting(self, uid: int, task: asyncio.Task[Any]) -> None:
        waiting = self._waiting.get(uid)
        if waiting is not None:
            waiting.pop(task, None)
            if not waiting:
                del self._waiting[uid]
