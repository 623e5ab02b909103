"""HTTP against the servers the cluster tests run: one request, or steady load from threads."""

from __future__ import annotations

import socket
import threading

REQUEST = b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def get(port: int, timeout: float = 5) -> str:
    """The body of GET / on 127.0.0.1:PORT (the servers answer their pid); OSError for
    anything but a 200.

    HTTP/1.0 over a plain socket, the answer read to its close: urllib's opener, handlers
    and header parsing cost several times the CPU of the request itself, and the cluster
    tests send thousands of them beside the servers they measure.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(REQUEST)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    head, ended, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not ended or len(status) < 2 or status[1] != b"200":
        raise OSError(f"not a 200 answer: {head[:100]!r}")
    return body.decode()


PAUSE_S = 0.02
"""Between one thread's requests. Unpaced, four threads kept two cores busy for the whole
test (the cluster tests were a seventh of the suite's CPU); paced, a request still starts
every few milliseconds, so an instance handing over its socket is hit all the same."""


class Load:
    """Threads sending requests steadily; counts failures and who answered."""

    def __init__(self, port: int, threads: int = 4, pause: float = PAUSE_S) -> None:
        self.port, self.ok, self.failed = port, 0, 0
        self.pause = pause
        self.pids: set[str] = set()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]
        self._lock = threading.Lock()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pid = get(self.port)
                with self._lock:
                    self.ok += 1
                    self.pids.add(pid)
            except OSError as exc:
                with self._lock:
                    self.failed += 1
                    self.errors.append(repr(exc))
            self._stop.wait(self.pause)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def answers(port: int) -> bool:
    """Something answers HTTP on PORT (within a second)."""
    try:
        get(port, timeout=1)
    except OSError:
        return False
    return True
