"""Commands and counters, the same through the engine and through the daemon."""

from __future__ import annotations

import pytest

from corral.engine.api import BadArgument, SupervisorAPI, UnknownTarget
from corral.engine.events import ProcessInfo
from corral.engine.states import ProcessState
from tests.contract.waits import until
from tests.helpers import app

pytestmark = pytest.mark.timeout(90)
ONLINE, STOPPED = ProcessState.ONLINE, ProcessState.STOPPED


def by_id(infos: list[ProcessInfo], pm_id: int) -> ProcessInfo:
    return next(i for i in infos if i.id == pm_id)


def online(infos: list[ProcessInfo]) -> bool:
    return bool(infos) and all(i.status is ONLINE for i in infos)


async def test_start_stop_restart_reload_reset_delete(api: SupervisorAPI) -> None:
    [added] = await api.add([app("sleeper.py", "web")])
    assert added.status is ONLINE and added.pid and added.restarts == 0
    [stopped] = await api.stop("web")
    assert stopped.status is STOPPED and stopped.pid is None
    [started] = await api.start("0")
    assert started.status is ONLINE and started.restarts == 0  # a start is no restart
    [restarted] = await api.restart("web")
    assert restarted.status is ONLINE and restarted.pid != started.pid
    assert restarted.restarts == 1
    assert [(r.reason, r.detail) for r in restarted.reasons] == [("user", "user")]
    [reloaded] = await api.reload("all")
    assert reloaded.restarts == 2 and reloaded.pid != restarted.pid  # no sockets: a restart
    [reset] = await api.reset("web")
    assert reset.restarts == 0
    [deleted] = await api.delete("web")
    assert deleted.name == "web"
    assert await api.list_processes() == []


async def test_several_targets_are_one_command_and_all_must_exist(api: SupervisorAPI) -> None:
    await api.add(
        [app("sleeper.py", "a", namespace="ns"), app("sleeper.py", "b"), app("sleeper.py", "c")]
    )
    stopped = await api.stop("ns", "b", "a")  # overlapping targets: each process once
    assert [(i.name, i.status) for i in stopped] == [("a", STOPPED), ("b", STOPPED)]
    with pytest.raises(UnknownTarget):
        await api.start("c", "nope")
    infos = await api.list_processes()
    assert [i.status for i in infos] == [STOPPED, STOPPED, ONLINE]  # nothing was done
    with pytest.raises(UnknownTarget):
        await api.list_processes("nope")
    assert [i.name for i in await api.list_processes("a", "c")] == ["a", "c"]
    deleted = await api.delete("a", "b")
    assert [i.name for i in deleted] == ["a", "b"]
    assert [i.name for i in await api.list_processes()] == ["c"]


async def test_restart_of_a_stopped_app_and_a_pending_restart_are_not_counted(
    api: SupervisorAPI,
) -> None:
    """PM2's restart_time counts restarts that happened: not starts by hand."""
    await api.add([app("sleeper.py", "idle"), app("crasher.py", "slow", restart_delay=60_000)])
    await api.stop("idle")
    [again] = await api.restart("idle")
    assert again.status is ONLINE and again.restarts == 0 and again.reasons == ()
    infos = await until(api, lambda i: by_id(i, 1).status is ProcessState.WAITING_RESTART)
    assert by_id(infos, 1).restarts == 0  # still waiting on restart_delay: not yet one
    [started] = await api.start("slow")  # a start by hand instead
    assert started.restarts == 0


async def test_crash_restarts_are_counted_with_their_reason(api: SupervisorAPI) -> None:
    await api.add([app("crasher.py", "crash", args=("3", "0.2"), max_restarts=2, min_uptime=5000)])
    infos = await until(api, lambda i: i[0].status is ProcessState.ERRORED)
    [info] = infos
    assert info.restarts == 1 and info.unstable_restarts == 2
    assert [r.reason for r in info.reasons] == ["crash", "errored"]
    assert info.reasons[0].detail == "exit code 3"


async def test_scale_keeps_the_newest_and_signal_reaches_the_main_process(
    api: SupervisorAPI,
) -> None:
    await api.add([app("sleeper.py", "web", instances=2)])
    grown = await api.scale("web", 4)
    assert [i.id for i in grown] == [0, 1, 2, 3]
    await until(api, online)
    shrunk = await api.scale("web", 2)
    assert [i.id for i in shrunk] == [2, 3]  # PM2 removes the oldest
    assert [i.id for i in await api.scale("web", 1, relative=True)] == [2, 3, 4]
    [first, *_] = await api.signal("4", signal="SIGTERM")  # sleeper exits 0 on SIGTERM
    infos = await until(api, lambda i: by_id(i, 4).restarts == 1)
    # Exit 0 from its handler, or the signal itself if it came before the handler was set.
    assert by_id(infos, 4).reasons[-1].detail in ("exit code 0", "killed by SIGTERM")
    assert first.id == 4
    with pytest.raises(BadArgument):
        await api.signal("web", signal="SIGNOPE")
    with pytest.raises(UnknownTarget):
        await api.scale("nope", 2)


async def test_add_replace_restarts_an_existing_name_with_the_new_spec(api: SupervisorAPI) -> None:
    await api.add([app("sleeper.py", "web")])
    fresh = app("sleeper.py", "web", instances=2, env={"WHICH": "new"})
    infos = await api.add([fresh], replace=True)
    assert [i.id for i in infos] == [0, 1]
    assert all(i.spec is not None and i.spec.env == {"WHICH": "new"} for i in infos)
    assert by_id(infos, 0).restarts == 1 and by_id(infos, 0).env["WHICH"] == "new"
    added = await api.add([app("sleeper.py", "web")])  # without replace: another copy
    assert [i.id for i in added] == [2]


async def test_restart_update_env_layers_over_the_spec(api: SupervisorAPI) -> None:
    await api.add([app("sleeper.py", "web", env={"A": "1", "B": "1"})])
    [info] = await api.restart("web", env={"B": "2"})
    assert (info.env["A"], info.env["B"]) == ("1", "2")
    [info] = await api.reload("web", env={"A": "3"})
    assert (info.env["A"], info.env["B"]) == ("3", "2")
    with pytest.raises(BadArgument):
        await api.restart("web", cron_restart="not a pattern")
