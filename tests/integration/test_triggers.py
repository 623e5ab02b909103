"""Metrics and the restart triggers against real processes: memory limit, watch, cron."""

from __future__ import annotations

import itertools
import re
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from corral.engine import Lifecycle, ProcessState, Supervisor
from corral.engine.events import Event, MetricsSample, ProcessInfo, RestartReason, StateChanged
from tests.helpers import Recorder, app

S = ProcessState
MB = 1024 * 1024
pytestmark = pytest.mark.timeout(60)
Sup = tuple[Supervisor, Recorder]


@pytest.fixture
async def fast(home: Path, no_leftovers: None) -> AsyncIterator[Sup]:
    """A Supervisor sampling every 0.2 s, so limits and sparklines move quickly."""
    supervisor = Supervisor(home, sample_interval=0.2)
    recorder = Recorder()
    supervisor.add_sink(recorder, samples=True)
    async with supervisor:
        yield supervisor, recorder


def reasons(s: Supervisor, pm_id: int, reason: str) -> list[RestartReason]:
    return [r for r in s.get(pm_id).info().reasons if r.reason == reason]


def cron_starts(events: list[Event], pm_id: int) -> tuple[int, int]:
    """(ticks that found PM_ID finished, ticks that found it running), from the events."""
    state, finished, running = None, 0, 0
    for event in events:
        if isinstance(event, StateChanged) and event.info.id == pm_id:
            state = event.info.status
        elif (
            isinstance(event, Lifecycle)
            and event.id == pm_id
            and event.message.startswith("restarting (cron")
        ):
            running += state is S.ONLINE
            finished += state is not S.ONLINE
    return finished, running


def said(events: list[Event], pm_id: int, start: str) -> list[Lifecycle]:
    return [
        e
        for e in events
        if isinstance(e, Lifecycle) and e.id == pm_id and e.message.startswith(start)
    ]


def samples(events: list[Event], pm_id: int) -> list[MetricsSample]:
    return [e for e in events if isinstance(e, MetricsSample) and e.id == pm_id]


# ------------------------------------------------------------------ metrics


async def test_busy_loop_near_100_and_sleeper_near_0(fast: Sup) -> None:
    s, rec = fast
    await s.add([app("busy.py"), app("sleeper.py")])
    # Someone looks (a `history` read, as a monitor's sparklines make): every app is then
    # sampled each interval. Unlooked-at, after its first two passes an app without a
    # memory limit is sampled every 15 s, and the busy loop spun for that long.
    await s.history(0)
    await rec.wait_for(lambda ev: len(samples(ev, 0)) >= 3)
    # Compared with psutil over the same five ticks: on a busy test box the loop may get
    # less than a whole core, and the figure must say what it really got.
    first, spinner = len(await s.history(0)), psutil.Process(s.get(0).pid)
    spinner.cpu_percent(None)
    await rec.wait_for(lambda ev: len(samples(ev, 0)) >= first + 5 and len(samples(ev, 1)) >= 8)
    theirs = spinner.cpu_percent(None)
    ring0, ring1 = await s.history(0), await s.history(1)
    busy, idle = ring0[first : first + 5], ring1[-5:]
    ours = statistics.mean(x.cpu or 0 for x in busy)
    assert ours > 10 and abs(ours - theirs) < max(10, theirs / 4), (ours, theirs)
    assert all(x.cpu is not None and x.cpu < 10 for x in idle)
    assert all(x.cpu_main == x.cpu for x in busy)  # one process: tree = main
    assert all(20 * MB > x.memory > 2 * MB for x in idle)
    # Evenly spaced, newest last, and the first sample of a run has no CPU figure yet.
    stamps = [x.ts for x in ring0]
    assert stamps == sorted(stamps)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert 0.15 < statistics.median(gaps) < 0.4
    assert ring0[0].cpu is None
    info = s.get(0).info()
    assert info.cpu is not None and info.memory is not None and info.memory > 0
    assert ProcessInfo.from_dict(info.to_dict()) == info
    host = await s.host()
    assert host is not None and 0 < host.mem_used < host.mem_total and len(host.load) == 3
    assert host.cpu is not None and 0 <= host.cpu <= 100
    await s.stop("all")
    await rec.wait_for(lambda _: s.get(0).info().memory is None)


async def test_tree_rss_counts_the_child_that_holds_memory(fast: Sup) -> None:
    s, rec = fast
    await s.add([app("holder.py", args=("120",))])
    await rec.wait_for(lambda ev: any(x.memory > 120 * MB for x in samples(ev, 0)))
    last = samples(rec.events, 0)[-1]
    assert last.memory > 120 * MB > 30 * MB > last.memory_main


async def test_a_stopped_app_shows_no_figures_at_once(fast: Sup) -> None:
    """A start or a stop brings the next sampling pass within a tick, not at once; what
    `list` shows for a stopped app must not wait for it."""
    s, rec = fast
    await s.add([app("holder.py", args=("40",))])
    await rec.wait_for(lambda _: (s.get(0).info().memory or 0) > 30 * MB)
    [info] = await s.stop("holder")
    assert info.cpu is None and info.memory is None
    assert s.get(0).info().memory is None


# ------------------------------------------------------------- memory limit


async def test_leaker_restarted_for_memory_with_reason(fast: Sup) -> None:
    s, rec = fast
    limit = 80 * MB
    await s.add([app("leaker.py", args=("10", "0.1"), max_memory_restart=limit)])
    await rec.wait_for(lambda _: bool(reasons(s, 0, "memory")), timeout=20)
    [first, *_] = reasons(s, 0, "memory")
    assert re.fullmatch(r"memory [\d.]+M > limit 80M", first.detail), first.detail
    said = [e for e in rec.events if isinstance(e, Lifecycle) and "restarting (memory" in e.message]
    assert said and said[0].message == f"restarting ({first.detail})"
    # Detected within one sample of crossing: the last sample under the limit came at
    # most ~one interval (plus the pass) before the restart was announced.
    run = samples(rec.events, 0)
    under = [x.ts for x in run if x.ts < said[0].ts and x.memory <= limit]
    assert said[0].ts - under[-1] < 1.0
    info = s.get(0).info()
    assert ProcessInfo.from_dict(info.to_dict()) == info
    assert info.to_dict()["reasons"][0]["reason"] == "memory"


async def test_clustered_app_over_its_limit_is_reloaded(fast: Sup) -> None:
    s, rec = fast
    spec = app("leaker.py", args=("10", "0.1"), max_memory_restart=60 * MB, exec_mode="cluster")
    await s.add([spec])
    await rec.wait_for(lambda _: bool(reasons(s, 0, "memory")), timeout=20)
    assert any(
        isinstance(e, Lifecycle) and e.message.startswith("reloading (memory") for e in rec.events
    )


async def test_memory_scope_process_ignores_the_child(fast: Sup) -> None:
    s, rec = fast
    limit = 80 * MB
    tree = app("holder.py", "tree", args=("120",), max_memory_restart=limit)
    main = replace(tree, name="main", memory_scope="process")
    await s.add([tree, main])
    await rec.wait_for(lambda _: bool(reasons(s, 0, "memory")), timeout=20)
    # "main" has been sampled over the limit (as a tree) several times by now, unrestarted.
    await rec.wait_for(lambda ev: sum(x.memory > limit for x in samples(ev, 1)) >= 5)
    assert s.get(1).info().restarts == 0 and not s.get(1).info().reasons


# -------------------------------------------------------------------- watch


async def test_watch_burst_gives_one_restart_and_ignored_paths_none(
    sup: Sup, tmp_path: Path
) -> None:
    s, rec = sup
    root = tmp_path / "project"
    (root / "node_modules").mkdir(parents=True)
    spec = replace(
        app("sleeper.py", watch=True, watch_delay=300, ignore_watch=("tmp",)), cwd=str(root)
    )
    await s.add([spec])
    assert s.get(0).info().watching
    burst = root / "burst"
    burst.mkdir()
    for i in range(200):
        (burst / f"f{i}.txt").write_text(str(i))
    await rec.wait_for(lambda _: bool(reasons(s, 0, "watch")))
    [one] = reasons(s, 0, "watch")
    assert re.fullmatch(r"files changed: burst(/f0\.txt)? and (\d+) more", one.detail), one.detail
    # Ignored changes (defaults and ignore_watch), then one that counts: the next restart
    # names the one that counts, so none of the ignored ones started a burst.
    await rec.wait_for(lambda _: s.get(0).state is S.ONLINE)
    (root / "app.log").write_text("x")
    (root / "node_modules" / "dep.js").write_text("x")
    (root / "tmp").mkdir()
    (root / "tmp" / "scratch").write_text("x")
    (root / "mod.pyc").write_bytes(b"x")
    (root / "sentinel.py").write_text("x")
    await rec.wait_for(lambda _: len(reasons(s, 0, "watch")) == 2)
    assert reasons(s, 0, "watch")[1].detail == "file changed: sentinel.py"
    assert s.get(0).info().restarts == 2


async def test_stop_pauses_watching_start_resumes_delete_removes(sup: Sup, tmp_path: Path) -> None:
    s, _ = sup
    spec = replace(app("sleeper.py", watch=True, watch_delay=100), cwd=str(tmp_path))
    await s.add([spec])
    watcher = s._triggers._watcher
    assert watcher is not None and watcher.watched == [str(tmp_path)]
    [stopped] = await s.stop("sleeper")
    assert not stopped.watching and watcher.watched == []
    [started] = await s.start("sleeper")
    assert started.watching and watcher.watched == [str(tmp_path)]
    await s.delete("all")
    assert watcher.watched == []


async def test_watch_on_missing_path_is_reported(sup: Sup, tmp_path: Path) -> None:
    s, rec = sup
    await s.add([app("sleeper.py", watch=(str(tmp_path / "nope"),))])
    assert not s.get(0).info().watching
    assert any(isinstance(e, Lifecycle) and "cannot watch" in e.message for e in rec.events)


# --------------------------------------------------------------------- cron


async def test_cron_every_2s_restarts_on_schedule(sup: Sup) -> None:
    s, rec = sup
    every = "*/2 * * * * *"  # PM2's 6 fields, seconds first
    before = time.time()
    await s.add(
        [
            app("sleeper.py", "ticker", cron_restart=every),
            app("sleeper.py", "parked", cron_restart=every, autostart=False),
            app("crasher.py", "batch", args=("0",), cron_restart=every, autorestart=False),
        ]
    )
    after = time.time()
    nxt = s.get(0).info().next_cron
    assert nxt is not None and before < nxt <= after + 2 and nxt % 2 == 0
    await rec.wait_for(lambda _: len(reasons(s, 0, "cron")) >= 2, timeout=30)
    times = [r.time for r in reasons(s, 0, "cron")]
    # Each restart comes at or after its tick, however late a loaded machine runs it, so
    # the tick it answers is the even second just before it. Two consecutive ticks: none
    # was skipped and none fired early (an early one would count as the tick before).
    # The first is the first even second after the cron was armed, which may come before
    # `add` returns on a loaded machine (then `nxt` already names the second tick).
    ticks = [t - t % 2 for t in times]
    first = before - before % 2 + 2
    assert ticks[0] >= first and ticks[1] - ticks[0] == 2, (times, before, nxt)
    assert reasons(s, 0, "cron")[0].detail == f"cron {every}"
    # A stopped app stays stopped; one that finished on its own runs again at each time.
    assert s.get(1).state is S.STOPPED and s.get(1).info().restarts == 0
    assert s.get(1).info().next_cron is None
    # Starting a finished app is no restart (PM2's restart_time): said, but not counted.
    # A tick that finds it still running (its interpreter starting on a loaded machine,
    # or an add just before an even second) is a restart, counted: judge each by the state
    # the app was in when its tick came.
    await rec.wait_for(lambda ev: cron_starts(ev, 2)[0] >= 2, timeout=30)
    finished, running = cron_starts(rec.events, 2)
    assert s.get(2).info().restarts == running, (finished, running)
    await s.delete("all")
    assert not s._triggers._crons
