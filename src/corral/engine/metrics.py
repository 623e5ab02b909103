"""Provides Sampler: CPU and memory of the running process trees, in tiers.

A pass reads `/proc/PID/stat` once for every process it follows in the engine's own
subtree (the engine being a subreaper, that holds every supervised process and all they
started; engine/procfs.py says how it is read cheaply). That one line gives each
process's parent (to build the trees), its process group (to place orphans re-parented
to the engine), its start time (with the pid, its identity), its CPU ticks and its RSS.

Not every tree is read every second. At 1 Hz: apps with a memory limit (the restart
must follow a crossing within 2 s) and every app while someone looks (a subscriber such
as the TUI, or a metrics scrape within the last SCRAPE_HOLD_S); a new run twice, to give
it a figure and a CPU % at once. The rest every IDLE_INTERVAL seconds, all in one pass;
a stopped app not at all, and with nothing running the loop sleeps until woken. CPU % is
the delta of CPU ticks since the run's previous pass, kept per (pid, start time), so a
recycled pid never inherits another process's baseline.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from corral.engine import procfs
from corral.engine.events import HostSample, MetricsSample
from corral.engine.procfs import PGRP, PPID, RSS, START, STIME, UTIME, Stat, StatFiles
from corral.engine.tree import HAS_CHILDREN_LISTS, Identity, Lineage, children_of

HISTORY = 900
"""Samples kept per process: 15 minutes at the default 1 Hz."""
IDLE_INTERVAL = 30.0
"""Seconds between two passes over the apps nobody looks at and no limit needs.

A pass costs about 60 µs of CPU per single-process app on the 2-core test machine, 12 ms
for 200 apps: every 30 s that is 0.04 % of a core, under the issue's 0.10 % (every 15 s
it measured 0.16 % with the passes new runs get). pm2's memory worker ticks every 30 s
too. `corral list` then shows figures at most 30 s old for an app nobody looks at, CPU %
averaged over them; supervisord measures nothing."""
SCRAPE_HOLD_S = 90.0
"""How long a metrics scrape keeps every app at 1 Hz: Prometheus scrapes every 60 s by
default, so a scraper polling at that rate is always answered with fresh figures."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class Target(NamedTuple):
    """A running instance to sample: its id, its run's root pid and the run's token."""

    id: int
    pid: int
    token: str
    limited: bool = False
    """True when the app has a memory limit: it is sampled every interval."""


@dataclass
class _Track:
    """What the previous pass over one run left: its time and each process's CPU ticks."""

    token: str
    mono: float | None = None
    boot: float = 0.0
    passes: int = 0
    ticks: dict[Identity, int] = field(default_factory=dict)


def scan() -> dict[int, Stat]:
    """The stat fields of every live process of ours (zombies left out), by pid.

    The engine is a child subreaper, so every process it supervises, and everything they
    started, is in its own subtree: walking that subtree reads a few files per managed
    process instead of one per process on the machine (an idle daemon stays idle).
    """
    stats = StatFiles(keep=0)
    if not HAS_CHILDREN_LISTS:
        return procfs.scan_all(stats)
    table: dict[int, Stat] = {}
    procfs.walk(children_of(os.getpid()), stats, table)
    return table


class Sampler:
    """Samples process trees and the host; keeps a bounded history per process id.

    Engine-owned state replaces psutil's per-object CPU baselines: each run's previous
    pass (its time and CPU ticks per process identity), and the run each orphan belongs to.
    """

    def __init__(self, keep: int = HISTORY, lineage: Lineage | None = None) -> None:
        self.keep = keep
        self.lineage = lineage if lineage is not None else Lineage()
        """Filled by every pass: the run each descendant was last seen in, and the orphans."""
        self._tracks: dict[int, _Track] = {}
        self._stats = StatFiles()
        self._tokens: dict[Identity, str | None] = {}
        self._history: dict[int, deque[MetricsSample]] = {}
        self._cpu_times: tuple[float, float] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        """When the paused loop wakes by itself (None: it waits for `wake`)."""
        self._scraped_until = 0.0
        self.parked = False
        """True while the loop waits for `wake` alone: nothing runs, nobody looks."""
        self.last_host: HostSample | None = None
        """The latest host figures, None before the first tick."""

    # -------------------------------------------------------------- the pass

    def sample(
        self,
        targets: Sequence[Target],
        managed: set[int],
        running: Sequence[Target] | None = None,
    ) -> list[MetricsSample]:
        """One pass over TARGETS: a sample each whose root is alive, added to its history.

        RUNNING (TARGETS when not given) are every running instance: an orphan may be
        theirs, and the runs no longer among them are forgotten.
        """
        running = targets if running is None else running
        boot = time.clock_gettime(time.CLOCK_BOOTTIME)
        table = self._read(targets, managed)
        # The interval ends when the CPU times were read, not when the pass began: on a
        # loaded machine the reads may come half a second late, and a clock read before
        # them made a busy loop measure 305 % of a core (seen in a suite run under load).
        mono, ts = time.monotonic(), time.time()
        members = self._trees(targets, running, table, managed)
        samples: list[MetricsSample] = []
        for target in targets:
            pids = members.get(target.id)
            if not pids:
                continue
            track = self._tracks.get(target.id)
            if track is None or track.token != target.token:
                track = self._tracks[target.id] = _Track(target.token)
            samples.append(self._measure(target, pids, table, track, mono, ts, boot))
        alive = {t.id for t in running}
        for pm_id in [i for i in self._tracks if i not in alive]:
            del self._tracks[pm_id]
        kept = set(table)
        for track in self._tracks.values():
            kept.update(pid for pid, _ in track.ticks)
        self._stats.retain(kept)
        for sample in samples:
            ring = self._history.get(sample.id)
            if ring is None:
                ring = self._history[sample.id] = deque(maxlen=self.keep)
            ring.append(sample)
        return samples

    def _read(self, targets: Sequence[Target], managed: set[int]) -> dict[int, Stat]:
        """The stat of every process in TARGETS' trees and in every orphan's subtree."""
        if not HAS_CHILDREN_LISTS:
            return procfs.scan_all(self._stats)
        table: dict[int, Stat] = {}
        orphans = [pid for pid in children_of(os.getpid()) if pid not in managed]
        procfs.walk([*orphans, *(t.pid for t in targets)], self._stats, table)
        return table

    def _measure(
        self,
        target: Target,
        pids: list[int],
        table: dict[int, Stat],
        track: _Track,
        mono: float,
        ts: float,
        boot: float,
    ) -> MetricsSample:
        elapsed = mono - track.mono if track.mono is not None else 0.0
        ticks: dict[Identity, int] = {}
        cpu_ticks, main_ticks, memory, main_memory = 0, 0, 0, 0
        known = True
        for pid in pids:
            fields = table[pid]
            ident = (pid, int(fields[START]))
            now = int(fields[UTIME]) + int(fields[STIME])
            ticks[ident] = now
            rss = int(fields[RSS]) * PAGE_SIZE
            memory += rss
            before = track.ticks.get(ident)
            if before is None:
                # New since the run's last pass: if it started after that pass, all its
                # CPU time belongs to this interval; otherwise there is no baseline.
                before = now if ident[1] / CLOCK_TICKS < track.boot else 0
                if pid == target.pid:
                    known = False  # a run's first pass: no interval to measure over
            delta = max(0, now - before)
            cpu_ticks += delta
            if pid == target.pid:
                main_ticks, main_memory = delta, rss
        track.mono, track.boot, track.ticks = mono, boot, ticks
        track.passes += 1
        cpu = cpu_main = None
        if known and elapsed > 0:
            scale = 100 / CLOCK_TICKS / elapsed
            cpu, cpu_main = round(cpu_ticks * scale, 1), round(main_ticks * scale, 1)
        used = cpu_ticks / CLOCK_TICKS
        return MetricsSample(target.id, ts, cpu, memory, cpu_main, main_memory, used)

    def _trees(
        self,
        targets: Sequence[Target],
        running: Sequence[Target],
        table: dict[int, Stat],
        managed: set[int],
    ) -> dict[int, list[int]]:
        """Every target's live pids: its root's descendants plus the orphans that are its.

        Orphans are placed among all RUNNING targets; the Lineage learns the trees of
        TARGETS afresh and keeps what it knew of the others (not read in this pass).
        """
        children: defaultdict[int, list[int]] = defaultdict(list)
        for pid, fields in table.items():
            children[int(fields[PPID])].append(pid)
        roots = {t.pid: t.id for t in targets if t.pid in table}
        every_root = {t.pid for t in running} | set(roots)
        by_token = {t.token: t.pid for t in running}
        by_token.update((t.token, t.pid) for t in targets)
        tops: defaultdict[int, list[int]] = defaultdict(list)
        for root in roots:
            tops[root].append(root)
        tokens: dict[Identity, str | None] = {}
        orphans: dict[int, int] = {}
        last_seen = self.lineage.seen
        for orphan in children.get(os.getpid(), ()):
            if orphan in managed or orphan in every_root:
                continue
            fields = table[orphan]
            ident = (orphan, int(fields[START]))
            orphans[orphan] = ident[1]
            owner = int(fields[PGRP])
            if owner not in every_root:
                token = self._tokens[ident] if ident in self._tokens else procfs.run_token(orphan)
                tokens[ident] = token
                # Its own group and no token (setsid, a cleared environment): the run
                # whose tree it was last seen in still owns it.
                owner = by_token.get(token or last_seen.get(ident, ""), -1)
            if owner in roots:
                tops[owner].append(orphan)
        self._tokens = tokens
        members = {root: _walk(starts, children) for root, starts in tops.items()}
        read_now = {t.token for t in targets}
        others = {t.token for t in running} - read_now
        seen: dict[Identity, str] = {}
        for ident, token in last_seen.items():
            stat = table.get(ident[0])
            if stat is not None:
                if int(stat[START]) == ident[1]:
                    seen[ident] = token  # alive: the owner may be re-found below
            elif token in others:
                seen[ident] = token  # in a tree this pass did not read
        token_of = {t.pid: t.token for t in targets}
        for root, pids in members.items():
            for pid in pids:
                seen[(pid, int(table[pid][START]))] = token_of[root]
        self.lineage.update(seen, orphans)
        return {roots[root]: pids for root, pids in members.items()}

    # ------------------------------------------------------------------ host

    def host(self) -> HostSample:
        """The machine's CPU %, memory and load; CPU is the delta since the last call.

        Read from /proc/stat and /proc/meminfo directly: psutil would cost the daemon
        about 4 MiB of resident memory for these two figures.
        """
        busy, idle = procfs.cpu_ticks()
        total = busy + idle
        cpu = None
        if self._cpu_times is not None:
            d_total, d_idle = total - self._cpu_times[0], idle - self._cpu_times[1]
            cpu = round(100 * (1 - d_idle / d_total), 1) if d_total > 0 else 0.0
        self._cpu_times = (total, idle)
        mem_total, available = procfs.memory()
        one, five, fifteen = os.getloadavg()
        self.last_host = HostSample(
            time.time(), cpu, mem_total - available, mem_total, (one, five, fifteen)
        )
        return self.last_host

    # ---------------------------------------------------------------- history

    def history(self, pm_id: int) -> list[MetricsSample]:
        """PM_ID's samples, oldest first (empty when it never ran)."""
        return list(self._history.get(pm_id, ()))

    def forget(self, pm_ids: Iterable[int]) -> None:
        """Drop the history of deleted processes (their ids may be given out again)."""
        for pm_id in pm_ids:
            self._history.pop(pm_id, None)

    # ------------------------------------------------------------------ loop

    def wake(self) -> None:
        """Look again at once: someone began to look."""
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def soon(self, interval: float = 1.0) -> None:
        """Look again within INTERVAL: a run started (or ended).

        Not at once: a process that has just been exec'ed has nothing to measure yet,
        and in a crash loop a pass right after every start competed with the new
        interpreter for the CPU it was starting on. A new run is due at the fast rate
        anyway, so waiting sleeps at most INTERVAL.
        """
        if self._wake is None or self._wake.done():
            return  # inside a pass: its delay is worked out after it
        loop = asyncio.get_running_loop()
        due = loop.time() + interval
        if self._timer is None or self._timer.when() > due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(due, self.wake)
            self.parked = False

    def attend(self) -> None:
        """Someone read the figures (a scrape, sparklines): every app at 1 Hz a while."""
        now = time.monotonic()
        if self._scraped_until <= now:
            self.wake()
        self._scraped_until = now + SCRAPE_HOLD_S

    async def run(
        self,
        interval: float,
        targets: Callable[[], tuple[list[Target], set[int]]],
        deliver: Callable[[list[MetricsSample], HostSample | None], None],
        trouble: Callable[[str], None],
        watched: Callable[[], bool] = lambda: False,
        idle: float = IDLE_INTERVAL,
    ) -> None:
        """Sample until cancelled: each run at INTERVAL or IDLE seconds (see the module).

        A slow pass skips ticks, never bursts. A pass that fails is reported through
        TROUBLE and the next one is tried: metrics and memory limits must not stop for
        good over one odd /proc entry. Host figures are taken every tick while someone
        looks, otherwise with the idle passes (which keeps a CPU baseline for `host()`).
        """
        idle = max(idle, interval)
        slack = min(interval / 4, 0.25)  # a timer firing a little early is on time
        idle_at = 0.0
        while True:
            now = time.monotonic()
            delay: float | None = interval
            try:
                looking = watched() or now < self._scraped_until
                running, managed = targets()
                idle_due = now >= idle_at - slack
                due = [
                    t for t in running if looking or idle_due or self._due(t, now, interval, slack)
                ]
                host = self.host() if looking or idle_due else None
                samples = self.sample(due, managed, running) if due else []
                deliver(samples, host if looking else None)  # even none: clears stopped apps
                if idle_due:
                    idle_at = now + idle
                delay = self._delay(running, looking, interval, idle_at - now)
            except Exception as exc:
                trouble(f"metrics sample failed: {exc!r}")
            if delay is not None:
                delay = max(0.0, now + delay - time.monotonic())
            await self._pause(delay)

    def _due(self, target: Target, now: float, interval: float, slack: float) -> bool:
        """True when TARGET needs a pass at the fast rate (new, young or limited)."""
        track = self._tracks.get(target.id)
        if track is None or track.token != target.token or track.mono is None:
            return True
        fast = target.limited or track.passes < 2  # a second pass gives a CPU %
        return fast and now - track.mono >= interval - slack

    def _delay(
        self, running: list[Target], looking: bool, interval: float, idle_left: float
    ) -> float | None:
        """Seconds until the next pass; None when nothing runs (until `wake`)."""
        if looking:
            return interval
        if not running:
            return None
        for target in running:
            track = self._tracks.get(target.id)
            if target.limited or track is None or track.passes < 2:
                return interval
        return idle_left

    async def _pause(self, delay: float | None) -> None:
        loop = asyncio.get_running_loop()
        self._wake = loop.create_future()
        self._timer = loop.call_later(delay, self.wake) if delay is not None else None
        self.parked = self._timer is None
        try:
            await self._wake
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self._wake, self._timer, self.parked = None, None, False


def _walk(starts: list[int], children: dict[int, list[int]]) -> list[int]:
    found, stack = [], list(starts)
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found
