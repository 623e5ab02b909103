"""The sampler's pass, history and host figures; metric events over JSON."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from corral.engine.events import (
    Event,
    HostSample,
    MetricsSample,
    ProcessInfo,
    RestartReason,
    event_from_dict,
    event_to_dict,
)
from corral.engine.metrics import Sampler, Target, scan
from corral.engine.states import ProcessState
from corral.figures import size_text


def test_scan_walks_our_subtree() -> None:
    """The engine's own descendants are seen, with their parent; the rest of the machine is not."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        table = scan()
        assert child.pid in table
        assert int(table[child.pid][1]) == os.getpid()
        assert os.getppid() not in table
    finally:
        child.kill()
        child.wait()


PARENT = (
    "import subprocess, sys, time\n"
    "hold = 'x = bytearray(20_000_000); import time; time.sleep(30)'\n"
    "kid = subprocess.Popen([sys.executable, '-c', hold])\n"
    "print(kid.pid, flush=True)\n"
    "time.sleep(30)\n"
)


def test_sample_counts_children_and_keeps_a_bounded_history() -> None:
    sampler = Sampler(keep=3)
    root = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout is not None
        kid = int(root.stdout.readline())
        target = Target(7, root.pid, "no-token")
        [one] = sampler.sample([target], set())
        assert one.id == 7 and one.cpu is None and one.memory_main > 1_000_000
        deadline = time.monotonic() + 10
        while one.memory < one.memory_main + 15_000_000 and time.monotonic() < deadline:
            [one] = sampler.sample([target], set())  # the child is still allocating
        assert one.memory > one.memory_main + 15_000_000
        for _ in range(4):
            [later] = sampler.sample([target], set())
        assert later.cpu is not None and later.cpu >= 0 and later.cpu_main is not None
        assert len(sampler.history(7)) == 3 and sampler.history(7)[-1] == later
        # The child is part of the tree: without it the total drops.
        os.kill(kid, 9)
        deadline = time.monotonic() + 10
        while True:
            [alone] = sampler.sample([target], set())
            if alone.memory < later.memory or time.monotonic() > deadline:
                break
        assert alone.memory < later.memory
    finally:
        root.kill()
        root.wait()
    sampler.forget([7])
    assert sampler.history(7) == []


def test_a_dead_root_gives_no_sample() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert Sampler().sample([Target(1, proc.pid, "t")], set()) == []


def test_host_figures() -> None:
    sampler = Sampler()
    first = sampler.host()
    assert first.cpu is None and 0 < first.mem_used < first.mem_total
    second = sampler.host()
    assert second.cpu is not None and 0 <= second.cpu <= 100
    assert sampler.last_host == second


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0B"),
        (512 * 1024, "512K"),
        (200 * 1024**2, "200M"),
        (212.4 * 1024**2, "212M"),
        (9.5 * 1024**2, "9.5M"),
        (1.5 * 1024**3, "1.5G"),
        (3 * 1024**3, "3G"),
    ],
)
def test_size_text(size: float, text: str) -> None:
    assert size_text(size) == text


def test_metric_events_survive_json() -> None:
    events: list[Event] = [
        MetricsSample(3, 1.5, 99.5, 10_000_000, 12.0, 4_000_000),
        MetricsSample(3, 1.5, None, 10, None, 10),
        HostSample(2.0, None, 1, 2, (0.5, 0.25, 0.125)),
    ]
    for event in events:
        assert event_from_dict(json.loads(json.dumps(event_to_dict(event)))) == event


def test_process_info_with_reasons_and_metrics_survives_json() -> None:
    info = ProcessInfo(
        id=1,
        name="web",
        namespace="default",
        instance=0,
        status=ProcessState.ONLINE,
        pid=42,
        restarts=2,
        unstable_restarts=0,
        started_at=10.0,
        created_at=5.0,
        reasons=(
            RestartReason(6.0, "crash", "exit code 1"),
            RestartReason(8.0, "memory", "memory 212M > limit 200M"),
        ),
        cpu=3.5,
        memory=1234,
        watching=True,
        next_cron=99.0,
    )
    data = json.loads(json.dumps(info.to_dict()))
    assert data["reasons"][1] == {
        "time": 8.0,
        "reason": "memory",
        "detail": "memory 212M > limit 200M",
    }
    assert ProcessInfo.from_dict(data) == info
    assert ProcessInfo.from_dict(info.to_dict()) == info


# --------------------------------------------------------- the tiers (issue 19)


@pytest.fixture
def sleepers() -> Iterator[list[int]]:
    """Two sleeping children of the test process, killed after the test."""
    procs = [subprocess.Popen(["sleep", "60"]) for _ in range(2)]
    yield [proc.pid for proc in procs]
    for proc in procs:
        proc.kill()
        proc.wait()


async def _until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_only_limited_apps_are_sampled_every_interval(sleepers: list[int]) -> None:
    """A limited app at the fast rate; an unlimited one twice (a figure and a CPU %), then
    only with the idle passes; someone looking brings everything to the fast rate."""
    limited, free = (Target(i, pid, f"t{i}", limited=i == 0) for i, pid in enumerate(sleepers))
    sampler = Sampler()
    counts: Counter[int] = Counter()

    def deliver(samples: list[MetricsSample], _host: HostSample | None) -> None:
        counts.update(s.id for s in samples)

    troubles: list[str] = []
    # The idle rate is an hour: within this test the free app gets no idle pass.
    run = sampler.run(0.02, lambda: ([limited, free], set()), deliver, troubles.append, idle=3600)
    task = asyncio.get_running_loop().create_task(run)
    try:
        await _until(lambda: counts[0] >= 8, "eight passes over the limited app")
        assert counts[1] == 2 and not troubles
        sampler.attend()  # a metrics scrape
        before = counts[1]
        await _until(lambda: counts[1] >= before + 3, "the free app at the fast rate")
    finally:
        task.cancel()


async def test_nothing_running_means_no_pass_until_woken(sleepers: list[int]) -> None:
    running = [Target(0, sleepers[0], "t0", limited=True)]
    sampler = Sampler()
    passes: list[list[MetricsSample]] = []
    run = sampler.run(0.02, lambda: (running, set()), lambda s, _h: passes.append(s), print)
    task = asyncio.get_running_loop().create_task(run)
    try:
        await _until(lambda: len(passes) >= 3, "three passes")
        assert not sampler.parked
        running.clear()  # the app stopped
        sampler.wake()
        await _until(lambda: sampler.parked, "the sampler parked")
        parked_after = len(passes)
        assert passes[-1] == []  # its last pass cleared the stopped app's figures
        running.append(Target(0, sleepers[0], "t1"))  # started again: the engine says so
        sampler.soon(0.02)
        await _until(lambda: len(passes) > parked_after and passes[-1] != [], "a new pass")
        assert passes[-1][0].cpu is None  # a new run's first pass: no CPU % yet
    finally:
        task.cancel()


async def test_a_new_run_is_sampled_within_a_tick_not_at_once(sleepers: list[int]) -> None:
    """A start wakes a parked (or idle-waiting) sampler for the next tick, not for a pass
    right away, when the new interpreter is still starting on the CPU it would share."""
    running: list[Target] = []
    sampler = Sampler()
    passes: list[float] = []
    run = sampler.run(
        0.5, lambda: (running, set()), lambda s, _h: passes.append(time.monotonic()), print
    )
    task = asyncio.get_running_loop().create_task(run)
    try:
        await _until(lambda: sampler.parked, "the sampler parked (nothing runs)")
        before = len(passes)
        running.append(Target(0, sleepers[0], "t0"))
        asked = time.monotonic()
        sampler.soon(0.5)
        assert not sampler.parked
        for _ in range(20):
            await asyncio.sleep(0)
        if time.monotonic() - asked < 0.5:  # on a machine too busy to tell, say nothing
            assert len(passes) == before, "soon() sampled at once"
        await _until(lambda: len(passes) > before, "a pass within the tick")
        assert passes[-1] - asked >= 0.5 - 0.1  # the timer's own slack at most
    finally:
        task.cancel()


def test_a_late_read_does_not_inflate_the_cpu_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass whose /proc reads come 0.6 s after it began (a descheduled daemon on a
    loaded machine) measures a busy loop over the time up to the reads: at most a core."""
    sampler = Sampler()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        target = Target(1, spinner.pid, "t")
        sampler.sample([target], set())
        read = sampler._read

        def late(*args: object) -> object:
            time.sleep(0.6)  # sleep-ok: stands for the scheduler keeping the daemon off the CPU
            return read(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(sampler, "_read", late)
        time.sleep(0.2)  # sleep-ok: the interval between passes is the scenario
        [second] = sampler.sample([target], set())
        assert second.cpu is not None and second.cpu <= 110, second.cpu
    finally:
        spinner.kill()
        spinner.wait()
