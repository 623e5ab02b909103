"""Readiness and liveness probes (http, tcp, exec), the same through the engine and the daemon.

Every probe here runs against a real child: a file an exec probe tests, a port a server
binds, a server that stops answering while its process lives on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from pathlib import Path

import pytest

from corral.config.spec import Probe
from corral.engine.api import SupervisorAPI
from corral.engine.events import Lifecycle, ProbeChecked, ProbeStatus, ProcessInfo
from corral.engine.states import ProcessState
from tests.contract.waits import holds, until
from tests.helpers import app, free_port

pytestmark = pytest.mark.timeout(90)
ONLINE, LAUNCHING = ProcessState.ONLINE, ProcessState.LAUNCHING


def one(infos: list[ProcessInfo]) -> ProcessInfo:
    [info] = infos
    return info


async def test_an_exec_readiness_probe_gates_online(api: SupervisorAPI, tmp_path: Path) -> None:
    flag = tmp_path / "db.ready"
    probe = Probe("exec", f"test -f {flag}", period=100)
    [added] = await api.add([app("sleeper.py", "db", readiness_probe=probe, listen_timeout=60_000)])
    assert added.status is LAUNCHING
    infos = await until(api, lambda i: one(i).probe["readiness"].failures >= 2)
    readiness = one(infos).probe["readiness"]
    assert readiness.kind == "exec" and readiness.last == "failed" and readiness.running
    assert readiness.last_error == f"exec test -f {flag} exited with code 1"
    await holds(api, lambda i: one(i).status is LAUNCHING, 0.3)  # the probe keeps failing
    flag.touch()
    infos = await until(api, lambda i: one(i).status is ONLINE)
    readiness = one(infos).probe["readiness"]
    assert (readiness.verdict, readiness.last, readiness.failures) == ("ok", "ok", 0)
    assert not readiness.running  # its job is done once the run is ready


async def test_exec_probes_run_in_the_apps_cwd_with_its_env(
    api: SupervisorAPI, tmp_path: Path
) -> None:
    (tmp_path / "marker").touch()
    spec = app(
        "sleeper.py",
        "env",
        env={**os.environ, "WANTED": "yes"},
        readiness_probe=Probe("exec", 'test -f marker && test "$WANTED" = yes', period=100),
    )
    await api.add([dataclasses.replace(spec, cwd=str(tmp_path))])
    await until(api, lambda i: one(i).status is ONLINE)


async def test_a_tcp_readiness_probe_waits_for_the_port(api: SupervisorAPI) -> None:
    port = free_port()
    spec = app(
        "hangs.py",
        "web",
        env={**os.environ, "PORT": str(port)},
        readiness_probe=Probe("tcp", f"127.0.0.1:{port}", period=100),
        listen_timeout=60_000,
    )
    await api.add([spec])
    infos = await until(api, lambda i: one(i).status is ONLINE)
    assert one(infos).probe["readiness"].verdict == "ok"


async def test_a_hung_server_is_restarted_by_its_liveness_probe(api: SupervisorAPI) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/health"
    liveness = Probe("http", url, period=300, timeout=300, failure_threshold=2)
    spec = app(
        "hangs.py",
        "web",
        env={**os.environ, "PORT": str(port)},
        readiness_probe=Probe("tcp", f"127.0.0.1:{port}", period=100),
        liveness_probe=liveness,
        listen_timeout=60_000,
        kill_timeout=500,
    )
    await api.add([spec])
    infos = await until(api, lambda i: one(i).probe["liveness"].last == "ok")
    first = one(infos)
    assert first.status is ONLINE and first.restarts == 0
    await api.signal("web", signal="SIGUSR1")  # it stops answering; its process lives on
    hung_at = time.monotonic()
    infos = await until(api, lambda i: one(i).restarts == 1, timeout=30)
    took = time.monotonic() - hung_at
    info = one(infos)
    [reason] = info.reasons
    assert (reason.reason, reason.detail) == ("liveness", f"GET {url} timed out after 300ms")
    # period x threshold + timeout + 1 s is what it needs at most (0.6 + 0.3 + 1); kill and
    # restart add kill_timeout. The bound is 5x that, since the machine is shared and loaded.
    assert took < 5 * (0.6 + 0.3 + 1 + 0.5), took
    infos = await until(api, lambda i: one(i).status is ONLINE and one(i).pid != first.pid)
    assert one(infos).probe["liveness"].failures == 0  # a new run, a new count


async def test_liveness_failures_count_like_crashes(api: SupervisorAPI) -> None:
    """Under the restart policy: unstable restarts up to max_restarts, then errored."""
    closed = free_port()
    spec = app(
        "sleeper.py",
        "dead",
        liveness_probe=Probe("tcp", f"127.0.0.1:{closed}", period=100, failure_threshold=1),
        max_restarts=2,
        min_uptime=60_000,
    )
    await api.add([spec])
    infos = await until(api, lambda i: one(i).status is ProcessState.ERRORED, timeout=30)
    info = one(infos)
    assert info.restarts == 1 and info.unstable_restarts == 2
    assert [r.reason for r in info.reasons] == ["liveness", "errored"]
    assert info.reasons[0].detail == f"connect 127.0.0.1:{closed}: connection refused"
    liveness = info.probe["liveness"]
    assert (liveness.verdict, liveness.failures, liveness.running) == ("failing", 1, False)


async def test_an_exec_probe_that_times_out_takes_its_process_group_with_it(
    api: SupervisorAPI, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    command = f"sleep 30 & echo $! >> {pids}; wait"
    probe = Probe("exec", command, period=100, timeout=200)
    await api.add([app("sleeper.py", "slow", readiness_probe=probe, listen_timeout=60_000)])
    infos = await until(api, lambda i: one(i).probe["readiness"].failures >= 2)
    assert one(infos).probe["readiness"].last_error == f"exec {command} timed out after 200ms"
    await api.stop("slow")
    left = [int(pid) for pid in pids.read_text().split()]
    assert len(left) >= 2

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"

    await until(api, lambda _: not any(alive(pid) for pid in left))


async def test_probes_stop_with_the_app(api: SupervisorAPI) -> None:
    closed = free_port()
    liveness = Probe("tcp", f"127.0.0.1:{closed}", period=100, failure_threshold=1000)
    await api.add([app("sleeper.py", "idle", liveness_probe=liveness)])
    await until(api, lambda i: one(i).probe["liveness"].failures >= 2)
    [stopped] = await api.stop("idle")
    assert not stopped.probe["liveness"].running
    count = stopped.probe["liveness"].failures
    await holds(api, lambda i: one(i).probe["liveness"].failures == count, 0.5)


async def test_a_rolling_reload_waits_for_the_readiness_probe(
    api: SupervisorAPI, tmp_path: Path
) -> None:
    """A replacement whose probe never passes is stopped; the old run serves on."""
    port = free_port()
    block = tmp_path / "block"
    spec = app(
        "reuseport.py",
        "rp",
        env={**os.environ, "PORT": str(port)},
        reuse_port=True,
        readiness_probe=Probe("exec", f"test ! -f {block}", period=100),
        listen_timeout=1500,
        ready_timeout_fails=True,
    )
    [added] = await api.add([spec])
    await until(api, lambda i: one(i).status is ONLINE)
    block.touch()
    # ReloadFailed from the engine, the daemon client's DaemonError: both RuntimeErrors.
    with pytest.raises(RuntimeError, match="never got ready"):
        await api.reload("rp")
    [info] = await api.list_processes()
    assert info.status is ONLINE and info.pid == added.pid
    block.unlink()
    [reloaded] = await api.reload("rp")
    assert reloaded.pid != added.pid and reloaded.probe["readiness"].verdict == "ok"


async def test_probe_results_reach_event_subscribers(api: SupervisorAPI) -> None:
    """ProbeChecked events (what the TUI and monit show) and each liveness failure said."""
    closed = free_port()
    liveness = Probe("tcp", f"127.0.0.1:{closed}", period=100, failure_threshold=1000)
    await api.add([app("sleeper.py", "idle", liveness_probe=liveness)])
    refused = f"connect 127.0.0.1:{closed}: connection refused"
    checked: list[ProbeStatus] = []
    said: list[str] = []
    stream = api.events()

    async def read() -> None:
        async for event in stream:
            if isinstance(event, ProbeChecked) and event.name == "idle":
                checked.append(event.status)
            elif isinstance(event, Lifecycle) and event.name == "idle":
                said.append(event.message)
            if len(checked) >= 2 and any(m.startswith("liveness: ") for m in said):
                return

    try:
        await asyncio.wait_for(read(), 20)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    assert all(s.probe == "liveness" and s.kind == "tcp" for s in checked)
    assert checked[-1].last_error == refused and checked[-1].failures >= 1
    assert any(m.startswith(f"liveness: {refused} (") and m.endswith(" of 1000)") for m in said)


async def test_initial_delay_and_success_threshold(api: SupervisorAPI, tmp_path: Path) -> None:
    """Readiness needs success_threshold passes in a row; liveness waits initial_delay."""
    tries = tmp_path / "tries"
    ready = Probe("exec", f"echo x >> {tries}", period=100, success_threshold=3)
    closed = free_port()
    later = Probe("tcp", f"127.0.0.1:{closed}", initial_delay=60_000, failure_threshold=1)
    spec = app("sleeper.py", "slow", readiness_probe=ready, liveness_probe=later)
    await api.add([dataclasses.replace(spec, listen_timeout=60_000)])
    await until(api, lambda i: one(i).status is ONLINE)
    assert len(tries.read_text().split()) == 3  # online at the third pass, then it stopped
    # The liveness probe would fail at once (nothing listens there), but not before 60 s.
    infos = await holds(api, lambda i: one(i).probe["liveness"].last is None, 0.5)
    assert one(infos).probe["liveness"].running and one(infos).restarts == 0


async def test_depends_on_ready_waits_for_a_readiness_probe(
    api: SupervisorAPI, tmp_path: Path
) -> None:
    """A dependant of `db = "ready"` starts only once db's readiness probe passes."""
    flag = tmp_path / "db.ready"
    db = app(
        "sleeper.py",
        "db",
        readiness_probe=Probe("exec", f"test -f {flag}", period=100),
        listen_timeout=60_000,
    )
    web = app("sleeper.py", "web", depends_on={"db": "ready"})
    await api.add([web, db])

    def web_of(infos: list[ProcessInfo]) -> ProcessInfo:
        return next(i for i in infos if i.name == "web")

    await until(api, lambda i: web_of(i).status is ProcessState.WAITING)
    await holds(api, lambda i: web_of(i).status is ProcessState.WAITING, 0.3)
    assert web_of(await api.list_processes()).waiting_for == ("db ready",)
    flag.touch()
    await until(api, lambda i: web_of(i).status is ONLINE and all(x.status is ONLINE for x in i))


async def test_a_liveness_restart_waits_its_restart_delay(api: SupervisorAPI) -> None:
    """The delay (restart_delay, or the exponential backoff) applies as after a crash."""
    closed = free_port()
    liveness = Probe("tcp", f"127.0.0.1:{closed}", period=100, failure_threshold=1)
    await api.add([app("sleeper.py", "later", liveness_probe=liveness, restart_delay=60_000)])
    infos = await until(api, lambda i: one(i).status is ProcessState.WAITING_RESTART)
    info = one(infos)
    assert info.pid is None and info.restarts == 0  # counted when it happens, as a crash's
    assert info.probe["liveness"].verdict == "failing" and not info.probe["liveness"].running
