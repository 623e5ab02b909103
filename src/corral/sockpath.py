"""Provides `reachable`: a Unix socket's path that fits a socket address, however long.

A `sockaddr_un` holds 107 bytes of path; a CORRAL_HOME deep in a build tree (or in
pytest's temporary folders) makes `rpc.sock` longer, and bind and connect then fail with
"AF_UNIX path too long". Such a socket is reached through an open descriptor of its
folder, `/proc/self/fd/N/NAME`, which the kernel resolves as it would the long path.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator

MAX_PATH = 107
"""The longest path a Linux `sockaddr_un` holds (108 bytes with the terminating NUL)."""


@contextlib.contextmanager
def reachable(path: str) -> Iterator[str]:
    """PATH itself when it fits, else a short alias valid inside the `with` block."""
    if len(os.fsencode(path)) <= MAX_PATH:
        yield path
        return
    folder, name = os.path.split(os.path.abspath(path))
    # O_NOFOLLOW: the folder itself is never reached through a symlink (callers check it).
    fd = os.open(folder, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{name}"
    finally:
        os.close(fd)


def connect(sock: socket.socket, path: str, timeout: float) -> None:
    """Connect SOCK to the Unix socket PATH within TIMEOUT seconds.

    While the listener's backlog is full (a burst of clients, a loaded machine), a Unix
    socket with a timeout fails at once with EAGAIN where a blocking one would wait; so
    that is retried, with a short backoff, until the deadline.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    with reachable(path) as short:
        while True:
            try:
                sock.connect(short)
                return
            except BlockingIOError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)  # backing off from a full backlog, bounded by the deadline
                delay = min(delay * 2, 0.1)
