"""Provides Board and LogStore: what the TUI knows, kept apart from the widgets that show it.

The event worker writes here as events arrive (cheap, no repaint); the widgets read here
once per frame. Everything is bounded: CPU and memory points per process, log lines per
process, so memory stays flat however long the UI runs and however chatty the apps are.
No Textual here.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from corral.engine.events import HostSample, MetricsSample, ProcessInfo
from corral.engine.states import ProcessState
from corral.tui.records import RULE, LogRecord

POINTS = 120
"""Samples per sparkline: two minutes at the engine's 1 Hz."""
LINES_PER_PROCESS = 1000
"""Log lines kept per process for re-filtering (the tail widget holds its own cap)."""
TAIL_LINES = 2000
"""Lines the log tail holds; older ones are dropped as new ones come (memory stays flat)."""
SYSTEM_ID = -1
"""Where corral's own messages (not tied to one process) are kept."""

RUNNING = frozenset({ProcessState.ONLINE, ProcessState.LAUNCHING, ProcessState.STOPPING})
"""States in which a process has (or is about to have) a live pid."""
ACTIVE = RUNNING | {ProcessState.WAITING_RESTART, ProcessState.WAITING}
"""States a stop acts on: a process waiting to restart (or for its dependencies) too."""


@dataclass(slots=True)
class Proc:
    """One process as the TUI knows it: the latest info and its recent CPU and memory."""

    info: ProcessInfo
    cpu: deque[float] = field(default_factory=lambda: deque(maxlen=POINTS))
    memory: deque[float] = field(default_factory=lambda: deque(maxlen=POINTS))
    last_ts: float = 0.0
    """Time of the newest sample, so history fetched late never duplicates live points."""
    latest: MetricsSample | None = None

    def cpu_now(self) -> float | None:
        """CPU % of the current run's latest sample; None when not running or not known."""
        if self.info.pid is None:
            return None
        if self.latest is not None and self.latest.ts >= (self.info.started_at or 0):
            return self.latest.cpu
        return self.info.cpu

    def memory_now(self) -> int | None:
        """RSS bytes of the current run's latest sample; None when not running or not known."""
        if self.info.pid is None:
            return None
        if self.latest is not None and self.latest.ts >= (self.info.started_at or 0):
            return self.latest.memory
        return self.info.memory

    def add(self, sample: MetricsSample) -> None:
        """Append SAMPLE unless it is not newer than what is already here."""
        if sample.ts <= self.last_ts:
            return
        self.last_ts = sample.ts
        self.latest = sample
        self.cpu.append(sample.cpu or 0.0)
        self.memory.append(float(sample.memory))

    def merge_history(self, samples: Iterable[MetricsSample]) -> None:
        """Put SAMPLES (older than any live one, oldest first) in front of the live points."""
        old = [s for s in samples if not self.last_ts or s.ts < self.last_ts]
        if not old:
            return
        cpu = [s.cpu or 0.0 for s in old] + list(self.cpu)
        memory = [float(s.memory) for s in old] + list(self.memory)
        self.cpu = deque(cpu, maxlen=POINTS)
        self.memory = deque(memory, maxlen=POINTS)
        if not self.last_ts:
            self.latest = old[-1]
        self.last_ts = max(self.last_ts, old[-1].ts)


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the process table: an app's group header, or one process."""

    key: str
    """`app:NAME` for a group header, `id:N` for a process."""
    name: str
    ids: tuple[int, ...]
    """The processes this row stands for (all instances for a group header)."""
    target: str
    """What commands on this row act on: the app's name, or the process id."""
    group: bool = False
    """A cluster's header row, standing for every instance."""
    in_group: bool = False
    """An instance row under a header."""
    last_in_group: bool = False


class Board:
    """Every process, its recent metrics, and the host figures."""

    def __init__(self) -> None:
        self.procs: dict[int, Proc] = {}
        self.host: HostSample | None = None

    def update(self, info: ProcessInfo) -> bool:
        """Record INFO; True when the process is new to the board."""
        proc = self.procs.get(info.id)
        if proc is None or proc.info.name != info.name:
            self.procs[info.id] = Proc(info)
            return True
        proc.info = info
        return False

    def remove(self, pm_id: int) -> None:
        """Forget a process that left the table."""
        self.procs.pop(pm_id, None)

    def sample(self, sample: MetricsSample) -> bool:
        """Record SAMPLE; False when its process is unknown (it will come with its state)."""
        proc = self.procs.get(sample.id)
        if proc is None:
            return False
        proc.add(sample)
        return True

    def keep_only(self, ids: Iterable[int]) -> None:
        """Drop processes not in IDS (after reconnecting, the table may have changed)."""
        keep = set(ids)
        for pm_id in [i for i in self.procs if i not in keep]:
            del self.procs[pm_id]

    def apps(self) -> dict[str, list[ProcessInfo]]:
        """Processes by app name, names sorted, instances by id."""
        by_name: dict[str, list[ProcessInfo]] = {}
        for proc in sorted(self.procs.values(), key=lambda p: (p.info.name, p.info.id)):
            by_name.setdefault(proc.info.name, []).append(proc.info)
        return by_name

    def rows(self) -> list[Row]:
        """The table's rows: apps sorted by name; a cluster's instances under a header row."""
        rows: list[Row] = []
        for name, infos in self.apps().items():
            if len(infos) == 1:
                rows.append(Row(f"id:{infos[0].id}", name, (infos[0].id,), str(infos[0].id)))
                continue
            ids = tuple(i.id for i in infos)
            rows.append(Row(f"app:{name}", name, ids, name, group=True))
            for n, info in enumerate(infos):
                rows.append(
                    Row(
                        f"id:{info.id}",
                        name,
                        (info.id,),
                        str(info.id),
                        in_group=True,
                        last_in_group=n == len(infos) - 1,
                    )
                )
        return rows

    def running(self) -> int:
        """How many processes have, or are about to have, a live pid."""
        return sum(1 for p in self.procs.values() if p.info.status in RUNNING)

    def memory_peak(self) -> float:
        """The largest memory point of any process: the shared scale of panes without a limit."""
        return max((max(p.memory) for p in self.procs.values() if p.memory), default=0.0)

    def active(self) -> int:
        """How many processes quitting `up` would stop: running, or waiting to (re)start."""
        return sum(1 for p in self.procs.values() if p.info.status in ACTIVE)

    def counts(self) -> dict[ProcessState, int]:
        """How many processes are in each state."""
        out: dict[ProcessState, int] = {}
        for proc in self.procs.values():
            out[proc.info.status] = out.get(proc.info.status, 0) + 1
        return out


Entry = tuple[int, LogRecord]
"""(sequence number, record): the sequence orders lines across processes."""


class LogStore:
    """The last lines of each process, and corral's own messages, in arrival order."""

    def __init__(self, per_process: int = LINES_PER_PROCESS) -> None:
        self.per_process = per_process
        self._rings: dict[int, deque[Entry]] = {}
        self._seq = itertools.count()
        self._history_seq = -(10**12)
        """History read from files is numbered before every live line, whenever it arrives."""

    def add(self, pm_id: int, records: list[LogRecord]) -> None:
        """Append live RECORDS of process PM_ID."""
        ring = self._ring(pm_id)
        seq = self._seq
        ring.extend([(next(seq), record) for record in records])

    def add_history(self, pm_id: int, records: list[LogRecord]) -> None:
        """Put RECORDS read back from PM_ID's files before its live lines.

        The files were read after the stream began, so their last lines may be the
        first live ones; those are dropped from the history rather than shown twice.
        """
        ring = self._ring(pm_id)
        records = _without_overlap(records, [record for _, record in ring])
        start = self._history_seq
        self._history_seq += len(records)
        old = [(start + n, record) for n, record in enumerate(records)]
        merged = old + list(ring)
        ring.clear()
        ring.extend(merged[-self.per_process :])

    def forget(self, pm_id: int) -> None:
        """Drop a deleted process's lines."""
        self._rings.pop(pm_id, None)

    def view(
        self, ids: Iterable[int] | None, query: str = "", limit: int = TAIL_LINES
    ) -> list[LogRecord]:
        """The newest LIMIT lines of IDS (None: every process) that contain QUERY.

        Where lines read back from the files give way to live ones, a RULE says so.
        """
        if ids is None:
            rings = list(self._rings.values())
        else:
            rings = [self._rings[i] for i in {*ids, SYSTEM_ID} if i in self._rings]
        merged: Iterable[Entry] = heapq.merge(*rings, key=lambda entry: entry[0])
        needle = query.lower()
        out: list[LogRecord] = []
        earlier = False
        for _, record in merged:
            if needle and not record.matches(needle):
                continue
            if earlier and not record.earlier:
                out.append(RULE)
            earlier = record.earlier
            out.append(record)
        return out[-limit:]

    def _ring(self, pm_id: int) -> deque[Entry]:
        ring = self._rings.get(pm_id)
        if ring is None:
            ring = self._rings[pm_id] = deque(maxlen=self.per_process)
        return ring


def _without_overlap(history: list[LogRecord], live: list[LogRecord]) -> list[LogRecord]:
    """HISTORY minus its tail that repeats the start of LIVE, stream by stream.

    Lines are compared by text (history may have no time); each stream is its own
    file, so stdout and stderr lines overlap separately.
    """
    drop: set[int] = set()
    for kind in {record.kind for record in history}:
        mine = [i for i, record in enumerate(history) if record.kind == kind]
        theirs = [record.text for record in live if record.kind == kind][: len(mine)]
        bodies = [history[i].text for i in mine]
        for k in range(min(len(bodies), len(theirs)), 0, -1):
            if bodies[-k:] == theirs[:k]:
                drop.update(mine[-k:])
                break
    return [record for i, record in enumerate(history) if i not in drop]
