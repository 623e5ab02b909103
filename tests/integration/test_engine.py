"""The engine against real child processes: lifecycle, policy knobs, logs, env."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass

import pytest

from corral.engine import Lifecycle, LogLines, ProcessState, StateChanged, Supervisor, UnknownTarget
from corral.engine.events import Event
from tests.helpers import Recorder, app

S = ProcessState
pytestmark = pytest.mark.timeout(60)
Sup = tuple[Supervisor, Recorder]


@dataclass(frozen=True)
class Line:
    id: int
    stream: str
    ts: float
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode()


def lines(events: list[Event], pm_id: int | None = None) -> list[Line]:
    return [
        Line(e.id, e.stream, e.ts, data)
        for e in events
        if isinstance(e, LogLines) and (pm_id is None or e.id == pm_id)
        for data in e.lines
    ]


def said(events: list[Event], pattern: str) -> list[Lifecycle]:
    return [e for e in events if isinstance(e, Lifecycle) and re.search(pattern, e.message)]


async def test_start_logs_and_stop(sup: Sup) -> None:
    s, rec = sup
    [info] = await s.add([app("chatty.py", args=("25",))])
    assert info.status is S.ONLINE and info.pid
    await rec.wait_for(lambda ev: any(e.data == b"done" for e in lines(ev)))
    out = [e.text for e in lines(rec.events) if e.stream == "out"]
    err = [e.text for e in lines(rec.events) if e.stream == "err"]
    assert out[:3] == ["line 0", "line 1", "line 2"] and len(out) == 26
    assert err == ["err 0", "err 10", "err 20"]
    stamps = [e.ts for e in lines(rec.events) if e.stream == "out"]
    assert stamps == sorted(stamps) and abs(stamps[0] - time.time()) < 30
    [stopped] = await s.stop("chatty")
    assert stopped.status is S.STOPPED and stopped.pid is None


async def test_crash_loop_goes_errored_after_max_restarts(sup: Sup) -> None:
    s, rec = sup
    await s.add([app("crasher.py", args=("1",), max_restarts=3)])
    await rec.wait_for(lambda _: s.get(0).state is S.ERRORED)
    info = s.get(0).info()
    assert info.restarts == 2 and info.exit_code == 1
    assert len(said(rec.events, r"^started")) == 3
    assert said(rec.events, r"errored: 3 unstable restarts")


async def test_restart_delay_waits_between_starts(sup: Sup) -> None:
    s, rec = sup
    await s.add([app("crasher.py", args=("1",), restart_delay=300, max_restarts=3)])
    await rec.wait_for(lambda _: s.get(0).state is S.ERRORED)
    starts = [e.ts for e in said(rec.events, r"^started")]
    assert all(b - a >= 0.3 for a, b in itertools.pairwise(starts))
    waits = [
        e for e in rec.events if isinstance(e, StateChanged) and e.info.status is S.WAITING_RESTART
    ]
    assert len(waits) == 2


async def test_exp_backoff_grows(sup: Sup) -> None:
    s, rec = sup
    await s.add([app("crasher.py", args=("1",), exp_backoff_restart_delay=50, max_restarts=5)])
    await rec.wait_for(lambda _: s.get(0).state is S.ERRORED)
    delays = [
        int(m.group(1))
        for e in said(rec.events, r"restarting in")
        if (m := re.search(r"in (\d+) ms", e.message))
    ]
    assert delays == [50, 75, 112, 168]


async def test_stop_exit_codes_and_autorestart_false(sup: Sup) -> None:
    s, rec = sup
    await s.add(
        [
            app("crasher.py", "coded", args=("3",), stop_exit_codes=(3,)),
            app("crasher.py", "once", args=("0",), autorestart=False),
        ]
    )
    # A clean exit that is not restarted is a completed job (PM2 says `stopped`).
    await rec.wait_for(lambda _: s.get(0).state is S.COMPLETED and s.get(1).state is S.COMPLETED)
    assert s.get(0).restarts == 0 and s.get(1).restarts == 0
    assert s.get(0).exit_code == 3


async def test_exit_zero_restarts_like_pm2(sup: Sup) -> None:
    s, rec = sup
    await s.add([app("crasher.py", args=("0", "1.2"), max_restarts=2)])
    await rec.wait_for(lambda ev: len(said(ev, r"^started")) >= 2)
    assert s.get(0).history.unstable_restarts == 0  # each run outlived min_uptime


async def test_bad_app_does_not_take_others_down(sup: Sup) -> None:
    s, rec = sup
    broken = app("sleeper.py", "broken", max_restarts=2)
    object.__setattr__(broken, "interpreter", "/nonexistent/python")
    await s.add([broken, app("sleeper.py", "good")])
    await rec.wait_for(lambda _: s.get(0).state is S.ERRORED)
    assert s.get(1).state is S.ONLINE
    assert said(rec.events, r"cannot start /nonexistent/python")


async def test_stop_cancels_pending_restart(sup: Sup) -> None:
    s, rec = sup
    await s.add([app("crasher.py", args=("1",), restart_delay=5000)])
    await rec.wait_for(lambda _: s.get(0).state is S.WAITING_RESTART)
    [info] = await s.stop("crasher")
    assert info.status is S.STOPPED
    count = len(said(rec.events, r"^started"))
    await asyncio.sleep(0)  # let a wrongly surviving timer run if it could
    assert s.get(0).state is S.STOPPED and len(said(rec.events, r"^started")) == count


async def test_concurrent_commands_are_serialised(sup: Sup) -> None:
    s, rec = sup
    await s.add([app("sleeper.py", kill_timeout=500)])
    ops = [s.restart, s.stop, s.start, s.restart, s.stop, s.restart, s.start] * 3
    await asyncio.gather(*(op("sleeper") for op in ops))
    proc = s.get(0)
    assert proc.state is S.ONLINE and proc.pid is not None
    # Every run that started also ended, except the current one.
    assert len(said(rec.events, r"^started")) - len(said(rec.events, r"^(exited|killed)")) == 1
    await s.stop("all")
    assert s.get(0) is proc and s.get(0).state is S.STOPPED


async def test_restart_counts_and_reset(sup: Sup) -> None:
    s, _ = sup
    [first] = await s.add([app("sleeper.py")])
    [after] = await s.restart("0")
    assert after.restarts == 1 and after.pid != first.pid and after.status is S.ONLINE
    [reset] = await s.reset("sleeper")
    assert reset.restarts == 0


async def test_env_each_child_sees(sup: Sup) -> None:
    s, rec = sup
    base = {"PATH": "/usr/bin:/bin", "PORT": "3000", "FROM_CONFIG": "yes"}
    await s.add(
        [
            app("envdump.py", "api", instances=2, env=base, increment_var="PORT"),
            app("envdump.py", "other", env=base, instance_var="INSTANCE_ID"),
        ]
    )
    await rec.wait_for(lambda ev: len(lines(ev)) >= 3)
    envs = {e.id: json.loads(e.text) for e in lines(rec.events)}
    assert {envs[0]["PORT"], envs[1]["PORT"]} == {"3000", "3001"}
    assert [envs[i]["NODE_APP_INSTANCE"] for i in (0, 1)] == ["0", "1"]
    assert envs[2]["INSTANCE_ID"] == "0" and "NODE_APP_INSTANCE" not in envs[2]
    for pm_id, env in envs.items():
        assert env["CORRAL_ID"] == env["pm_id"] == str(pm_id)
        assert env["CORRAL_HOME"] == s.home
        assert env["FROM_CONFIG"] == "yes"
    assert envs[0]["name"] == "api" and envs[2]["name"] == "other"


async def test_targets_delete_scale_and_ids(sup: Sup) -> None:
    s, _ = sup
    await s.add([app("sleeper.py", "a", namespace="ns1"), app("sleeper.py", "b", namespace="ns1")])
    assert {p.name for p in await s.stop("ns1")} == {"a", "b"}
    with pytest.raises(UnknownTarget):
        await s.list_processes("nope")
    scaled = await s.scale("a", 3)
    assert len(scaled) == 3 and sorted(p.instance for p in scaled) == [0, 1, 2]
    assert sum(p.status is S.ONLINE for p in scaled) == 2  # the new ones start
    assert len(await s.scale("a", 1)) == 1
    await s.delete("all")
    assert await s.list_processes() == []
    [again] = await s.add([app("sleeper.py", "c")])
    assert again.id == 0  # ids start over once the table is empty


async def test_signal_reaches_main_process(sup: Sup) -> None:
    s, rec = sup
    await s.add([app("sleeper.py", autorestart=False)])
    await rec.wait_for(lambda ev: any(e.data == b"ready" for e in lines(ev)))  # handler is set
    await s.signal("sleeper", signal="SIGTERM")
    await rec.wait_for(lambda _: s.get(0).state is S.COMPLETED)
    assert s.get(0).exit_code == 0


async def test_subscribe_snapshot_then_live(sup: Sup) -> None:
    s, _ = sup
    await s.add([app("sleeper.py")])
    stream = s.events()
    first = await anext(stream)
    assert isinstance(first, StateChanged) and first.info.status is S.ONLINE
    await s.stop("all")
    seen = []
    async for event in stream:
        seen.append(event)
        if isinstance(event, StateChanged) and event.info.status is S.STOPPED:
            break
    assert any(isinstance(e, StateChanged) and e.info.status is S.STOPPING for e in seen)
    await stream.aclose()  # type: ignore[attr-defined]


async def test_exit_is_published_after_the_last_lines(sup: Sup) -> None:
    """The `exited with code 1` message comes after the traceback that caused it.

    The traceback is written as the interpreter exits, so the exit is often seen before
    the pipe is read; ten instances make that race near certain on the old code.
    """
    s, rec = sup
    await s.add([app("tracer.py", instances=10, autorestart=False)])

    def ended(events: list[Event]) -> bool:
        return sum(1 for e in events if isinstance(e, Lifecycle) and "exited" in e.message) == 10

    events = await rec.wait_for(ended, timeout=30)
    for pm_id in range(10):
        mine = [e for e in events if getattr(e, "id", None) == pm_id]
        last_line = max(
            i for i, e in enumerate(mine) if isinstance(e, LogLines) and b"the last line" in e.block
        )
        exited = next(
            i for i, e in enumerate(mine) if isinstance(e, Lifecycle) and "exited" in e.message
        )
        assert last_line < exited, f"[{pm_id}] exit published before its traceback's last line"
