"""Provides Load: HTTP clients hammering 127.0.0.1:PORT from threads, counting failures.

Each thread sends one GET per fresh connection, back to back (no pause), so every
moment of a reload sees new connections arriving. Loopback only, and bounded: the
threads stop when told, or after MAX_S whatever happens.
"""

from __future__ import annotations

import http.client
import threading
import time
from types import TracebackType

TIMEOUT_S = 5.0
MAX_S = 300.0


class Load:
    """`with Load(port, 4) as load: ...`; then `load.ok` and `load.failed`."""

    def __init__(self, port: int, threads: int) -> None:
        self.port = port
        self.ok = 0
        self.failed = 0
        self.errors: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(threads)]

    def _one(self) -> str | None:
        """One request; None when it got a 200, else what went wrong."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            response.read()
            return None if response.status == 200 else f"HTTP {response.status}"
        except (OSError, http.client.HTTPException) as exc:
            return type(exc).__name__
        finally:
            conn.close()

    def _client(self) -> None:
        deadline = time.monotonic() + MAX_S
        while not self._stop.is_set() and time.monotonic() < deadline:
            error = self._one()
            with self._lock:
                if error is None:
                    self.ok += 1
                else:
                    self.failed += 1
                    self.errors[error] = self.errors.get(error, 0) + 1

    @property
    def total(self) -> int:
        return self.ok + self.failed

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=TIMEOUT_S + 1)
