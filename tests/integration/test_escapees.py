"""Nothing escapes: a grandchild that double-forks, calls setsid and re-execs with an empty
environment (no token, no group, no session of its app) is gone after stop, delete, kill,
and a kill -9 of the daemon followed by recovery.

It is tied to its app only by having been seen in the app's tree: the sampler walks the
trees every second and remembers where each process was (the Lineage). The tests let two
sampling passes happen before the grandchild's parent leaves (the `history` RPC's ring
grows by one sample per pass), which is the promise: a process that lived a sampling
second in an app's tree belongs to that app.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from corral.engine import Supervisor
from corral.engine.events import Event, MetricsSample
from tests.helpers import APPS, Corral, Recorder, Up, app, crash, eco, gone, recover, wait_until

pytestmark = pytest.mark.timeout(90)
VANISHER = str(APPS / "vanisher.py")


def environ(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


def strays(corral: Corral) -> dict[int, int | None]:
    """The strays in state.json: pid -> the id of the app it was last seen under."""
    try:
        body = json.loads(Path(corral.root, "state.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {s["pid"]: s["id"] for s in body.get("strays", [])}


@contextlib.contextmanager
def escapee(corral: Corral, tmp_path: Path) -> Iterator[int]:
    """Start the vanisher app; yields its grandchild once orphaned to the daemon."""
    pidfile, release = tmp_path / "grandchild", tmp_path / "release"
    corral.ok("start", VANISHER, "--name", "v", "-k", "300", "--", str(pidfile), str(release))
    wait_until(pidfile.exists, what="the grandchild's pid file")
    grandchild = int(pidfile.read_text())
    try:
        with corral.client() as client:
            passes = len(client.call("history", id=0))
            wait_until(
                lambda: len(client.call("history", id=0)) >= passes + 2,
                what="two sampling passes while the grandchild is in the app's tree",
            )
        release.touch()
        daemon = corral.pid()
        wait_until(lambda: psutil.Process(grandchild).ppid() == daemon, what="re-parented")
        assert os.getsid(grandchild) == grandchild, "it has its own session"
        assert b"CORRAL" not in environ(grandchild), "and nothing of corral in its environment"
        yield grandchild
    finally:
        if not gone(grandchild):
            os.kill(grandchild, signal.SIGKILL)  # the test failed: leave nothing behind


def test_stop_kills_the_escapee_last_seen_in_the_app(corral: Corral, tmp_path: Path) -> None:
    with escapee(corral, tmp_path) as grandchild:
        corral.ok("stop", "v")
        assert gone(grandchild)


def test_delete_kills_it(corral: Corral, tmp_path: Path) -> None:
    with escapee(corral, tmp_path) as grandchild:
        corral.ok("delete", "v")
        assert gone(grandchild)


def test_kill_leaves_no_descendant_of_the_daemon(corral: Corral, tmp_path: Path) -> None:
    with escapee(corral, tmp_path) as grandchild:
        corral.ok("kill")
        assert gone(grandchild)


def test_a_kill_9_recovery_stops_it(corral: Corral, tmp_path: Path) -> None:
    with escapee(corral, tmp_path) as grandchild:
        wait_until(lambda: strays(corral).get(grandchild) == 0, what="recorded as v's stray")
        crash(corral)
        assert not gone(grandchild), "it outlived the daemon (re-parented once more)"
        recover(corral)
        assert gone(grandchild)
        assert [r["status"] for r in corral.rows()] == ["online"]


def test_an_unclaimed_orphan_dies_with_the_daemon(corral: Corral, tmp_path: Path) -> None:
    """Its parent left before any sampling pass: no app claims it, `kill` still ends it."""
    pidfile = tmp_path / "grandchild"
    corral.ok("start", VANISHER, "--name", "v", "--", str(pidfile))  # no release: at once
    wait_until(pidfile.exists, what="the grandchild's pid file")
    grandchild = int(pidfile.read_text())
    try:
        wait_until(lambda: grandchild in strays(corral), what="recorded as a stray")
        corral.ok("kill")
        assert gone(grandchild)
    finally:
        if not gone(grandchild):
            os.kill(grandchild, signal.SIGKILL)


# ------------------------------------------------- the in-process engine (`corral up`)


@pytest.mark.parametrize("verb", ["stop", "delete"])
async def test_the_engine_in_process_claims_it_too(
    sup: tuple[Supervisor, Recorder], tmp_path: Path, verb: str
) -> None:
    s, rec = sup
    pidfile, release = tmp_path / "grandchild", tmp_path / "release"
    await s.add([app("vanisher.py", "v", kill_timeout=300, args=(str(pidfile), str(release)))])
    await rec.wait_for(lambda _: pidfile.exists())
    grandchild = int(pidfile.read_text())
    try:
        passes = len(await s.history(0))
        # Two more sampler passes: each is one MetricsSample of process 0.
        await rec.wait_for(lambda ev: samples_of(ev, 0) >= passes + 2, timeout=20)
        release.touch()
        await rec.wait_for(lambda _: psutil.Process(grandchild).ppid() == os.getpid())
        assert s.lineage.token_of(grandchild) == s.get(0).token
        await (s.stop("v") if verb == "stop" else s.delete("v"))
        assert gone(grandchild)
    finally:
        if not gone(grandchild):
            os.kill(grandchild, signal.SIGKILL)


def test_up_leaves_no_orphan_behind(
    tmp_path: Path, up_env: dict[str, str], runner: list[Up]
) -> None:
    """An orphan no pass saw (its parent left at once) still ends with `up --no-ui`."""
    pidfile = tmp_path / "grandchild"
    body = f'[[apps]]\nname = "v"\nscript = "APPS/vanisher.py"\nargs = ["{pidfile}"]\n'
    path = eco(tmp_path, body)
    up = Up([str(path)], tmp_path, up_env)
    runner.append(up)
    up.wait_for(r"v\[0\] \| vanisher ready")
    wait_until(pidfile.exists, what="the grandchild's pid file")
    grandchild = int(pidfile.read_text())
    try:
        wait_until(lambda: psutil.Process(grandchild).ppid() == up.proc.pid, what="re-parented")
        up.proc.send_signal(signal.SIGTERM)
        code, err = up.finish()
        assert code == 0, err
        assert gone(grandchild)
    finally:
        if not gone(grandchild):
            os.kill(grandchild, signal.SIGKILL)


def samples_of(events: list[Event], pm_id: int) -> int:
    return sum(isinstance(e, MetricsSample) and e.id == pm_id for e in events)
