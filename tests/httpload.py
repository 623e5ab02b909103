"""HTTP against the servers the cluster tests run: one request, or steady load from threads."""

from __future__ import annotations

import threading
import urllib.request


def get(port: int, timeout: float = 5) -> str:
    """The body of GET / on 127.0.0.1:PORT (the servers answer their pid)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as response:
        body: bytes = response.read()
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
