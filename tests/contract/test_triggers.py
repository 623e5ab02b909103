"""Watch, cron and memory restarts follow the user's commands, the same through the engine
and through the daemon: stop pauses them, start and restart resume them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corral.config.spec import AppSpec
from corral.engine.api import SupervisorAPI
from corral.engine.events import ProcessInfo
from corral.engine.states import ProcessState
from tests.contract.waits import holds, until
from tests.helpers import app

pytestmark = pytest.mark.timeout(90)
ONLINE, STOPPED = ProcessState.ONLINE, ProcessState.STOPPED
MB = 1024 * 1024
EVERY_SECOND = "* * * * * *"  # PM2's 6 fields, seconds first
QUIET_S = 2.5
"""How long a paused trigger is watched doing nothing: the watch delay (0.1 s) or two cron
times (1 s apart) pass in it, with room for a loaded machine's restart."""


def reasons(info: ProcessInfo, reason: str) -> int:
    return sum(r.reason == reason for r in info.reasons)


def watched(tmp_path: Path, name: str = "w", **kw: Any) -> tuple[AppSpec, Path]:
    """An app watching a folder of its own (100 ms watch delay), and a file in it."""
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    target = folder / "app.cfg"
    target.write_text("0")
    spec = app("sleeper.py", name, watch=(str(folder),), watch_delay=100, **kw)
    return spec, target


async def test_watch_stays_off_after_stop_and_comes_back_after_start(
    api: SupervisorAPI, tmp_path: Path
) -> None:
    spec, target = watched(tmp_path)
    [info] = await api.add([spec])
    assert info.watching and info.watch_on and not info.paused
    target.write_text("1")
    [info] = await until(api, lambda i: reasons(i[0], "watch") == 1)
    assert info.restarts == 1

    [info] = await api.stop("w")
    assert not info.watching and info.paused and info.watch_on  # paused, switch still on
    target.write_text("2")
    await holds(api, lambda i: i[0].status is STOPPED and not i[0].watching, QUIET_S)

    [info] = await api.start("w")
    assert info.watching and not info.paused
    target.write_text("3")
    [info] = await until(api, lambda i: reasons(i[0], "watch") == 2)
    assert info.status is not STOPPED


async def test_restart_watch_toggles_the_switch(api: SupervisorAPI, tmp_path: Path) -> None:
    """PM2's `restart --watch`: off if it watched, on if it did not (the cwd when the
    spec names nothing to watch)."""
    spec, target = watched(tmp_path)
    await api.add([spec, app("sleeper.py", "plain")])
    [info] = await api.restart("w", toggle_watch=True)
    assert not info.watching and not info.watch_on
    target.write_text("1")
    await holds(api, lambda i: reasons(i[0], "watch") == 0, QUIET_S)
    [info] = await api.restart("w", toggle_watch=True)
    assert info.watching and info.watch_on
    [plain] = await api.restart("plain", toggle_watch=True)
    assert plain.watching and plain.spec is not None and plain.spec.watch is True


async def test_cron_stays_off_after_stop_and_comes_back_after_start(api: SupervisorAPI) -> None:
    await api.add([app("sleeper.py", "tick", cron_restart=EVERY_SECOND)])
    [info] = await until(api, lambda i: reasons(i[0], "cron") >= 1)
    assert info.next_cron is not None

    [info] = await api.stop("tick")
    assert info.next_cron is None and info.paused
    await holds(api, lambda i: i[0].status is STOPPED and i[0].next_cron is None, QUIET_S)

    [info] = await api.start("tick")
    assert info.next_cron is not None
    before = reasons(info, "cron")
    await until(api, lambda i: reasons(i[0], "cron") > before)


async def test_restart_cron_zero_removes_the_cron(api: SupervisorAPI) -> None:
    await api.add([app("sleeper.py", "tick", cron_restart=EVERY_SECOND)])
    [info] = await api.restart("tick", cron_restart="0")
    assert info.next_cron is None and info.spec is not None and info.spec.cron_restart is None
    restarts = info.restarts
    await holds(api, lambda i: i[0].restarts == restarts, QUIET_S)
    [info] = await api.restart("tick", cron_restart=EVERY_SECOND)
    assert info.next_cron is not None
    await until(api, lambda i: reasons(i[0], "cron") >= 1)


async def test_an_app_that_did_not_autostart_gets_watch_and_cron_when_started(
    api: SupervisorAPI, tmp_path: Path
) -> None:
    # Two apps: a watch restart that fires during a cron restart of the same app is
    # dropped (one restart at a time), which would make one app's test flaky.
    spec, target = watched(tmp_path, "late", autostart=False)
    tick = app("sleeper.py", "tick", autostart=False, cron_restart=EVERY_SECOND)
    infos = await api.add([spec, tick])
    assert all(i.status is STOPPED and not i.watching and i.next_cron is None for i in infos)
    await holds(api, lambda i: all(x.status is STOPPED for x in i), QUIET_S)
    late, tick_info = await api.start("late", "tick")
    assert late.watching and tick_info.next_cron is not None
    await until(api, lambda i: reasons(i[1], "cron") >= 1)
    target.write_text("1")
    await until(api, lambda i: reasons(i[0], "watch") >= 1)


async def test_memory_limit_restarts_with_its_reason(api: SupervisorAPI) -> None:
    await api.add([app("leaker.py", "leak", args=("10", "0.1"), max_memory_restart=60 * MB)])
    [info] = await until(api, lambda i: reasons(i[0], "memory") >= 1, timeout=30)
    memory = next(r for r in info.reasons if r.reason == "memory")
    assert memory.detail.startswith("memory ") and "> limit 60M" in memory.detail
    assert info.restarts >= 1
