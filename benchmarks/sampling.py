"""Provides PeakRss: the highest resident memory of one process while something runs.

A log burst lasts a fraction of a second to a few seconds; the daemon's memory at the
end says little about how far its buffers grew during it, so a thread polls psutil
every 50 ms and keeps the maximum.
"""

from __future__ import annotations

import threading
from types import TracebackType

import psutil

PERIOD_S = 0.05


class PeakRss:
    """`with PeakRss(pid) as peak: ...`; afterwards `peak.mb` is the maximum RSS seen."""

    def __init__(self, pid: int, period_s: float = PERIOD_S) -> None:
        self.proc = psutil.Process(pid)
        self.period_s = period_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while True:
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            if self._stop.wait(self.period_s):
                return

    @property
    def mb(self) -> float:
        return self.peak / 2**20

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        try:  # one last reading: the tail of the burst
            self.peak = max(self.peak, self.proc.memory_info().rss)
        except psutil.Error:
            pass
