"""Provides Metrics: CPU and memory of each process tree, measured when someone asks.

A stop-gap until the engine's 1 s sampler lands: `list` calls `sample` and gets, for
every running root pid, the CPU percent (of one core) and RSS summed over the root and
its descendants. It reads /proc/<pid>/stat directly: psutil.process_iter takes 12-20 ms
for ~100 processes here, a raw pass about 4 ms, and `corral jlist` has 100 ms in all.
The ppid map (which needs a pass over every process) is reused for TREE_TTL_S, so a
child spawned since shows up within a second; the numbers themselves are always fresh.
CPU percent is measured since the previous sample of the same process (0 the first time).
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

TREE_TTL_S = 1.0
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True, slots=True)
class Sample:
    """One process tree's usage: CPU percent of one core, resident bytes."""

    cpu: float
    memory: int


@dataclass(frozen=True, slots=True)
class Stat:
    """What one read of /proc/<pid>/stat tells us."""

    ppid: int
    start: int
    """Start time in ticks since boot: tells a reused pid from the old process."""
    ticks: int
    """utime + stime."""
    rss: int
    """Resident bytes."""


def read_stat(pid: int) -> Stat | None:
    """/proc/PID/stat parsed, or None if the process is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    if len(fields) < 22 or fields[0] == b"Z":
        return None
    return Stat(
        int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12]), int(fields[21]) * _PAGE
    )


class Metrics:
    """Measures process trees on demand."""

    def __init__(self) -> None:
        self._children: dict[int, list[int]] = {}
        self._scanned_at = -TREE_TTL_S
        self._last: dict[int, tuple[int, int, float]] = {}
        """pid -> (start, ticks, when) of its previous sample."""
        self._known: set[int] = set()
        """Pids seen by the last scan: a root not among them forces a new scan."""

    def sample(self, roots: Iterable[int]) -> dict[int, Sample]:
        """CPU and RSS of each ROOT's tree; roots that are gone are left out."""
        wanted = list(roots)
        if not wanted:
            self._last.clear()
            return {}
        now = time.monotonic()
        fresh: dict[int, Stat] = {}
        if now - self._scanned_at > TREE_TTL_S or any(r not in self._known for r in wanted):
            fresh = self._scan()
            self._scanned_at = now
        out: dict[int, Sample] = {}
        measured: dict[int, tuple[int, int, float]] = {}
        for root in wanted:
            cpu, memory, alive = 0.0, 0, False
            for pid in self._subtree(root):
                stat = fresh.get(pid) or read_stat(pid)
                if stat is None:
                    continue
                alive = True
                memory += stat.rss
                before = self._last.get(pid)
                if before is not None and before[0] == stat.start and now > before[2]:
                    cpu += (stat.ticks - before[1]) / _TICKS / (now - before[2]) * 100
                measured[pid] = (stat.start, stat.ticks, now)
            if alive:
                out[root] = Sample(round(max(cpu, 0.0), 1), memory)
        self._last = measured
        return out

    def _scan(self) -> dict[int, Stat]:
        """One pass over /proc: the ppid map, and every process's stat while we are there."""
        children: dict[int, list[int]] = defaultdict(list)
        stats: dict[int, Stat] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            stat = read_stat(int(name))
            if stat is not None:
                stats[int(name)] = stat
                children[stat.ppid].append(int(name))
        self._children = dict(children)
        self._known = set(stats)
        return stats

    def _subtree(self, root: int) -> list[int]:
        found, stack = [], [root]
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack.extend(self._children.get(pid, ()))
        return found
