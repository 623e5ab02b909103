"""The daemon against real clients: start-up, permissions, peer checks, robustness, update.

Each test gets its own CORRAL_HOME; the `corral` fixture stops that home's daemon at
teardown and fails the test if any process of that home (the daemon or an app) is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.daemon import protocol
from corral.daemon.aclient import AsyncClient
from corral.daemon.client import DaemonError
from corral.engine import ProcessState, StateChanged, UnknownTarget
from tests.helpers import (
    APPS,
    PYTHON,
    SLEEPER,
    Corral,
    any_text,
    app,
    gone,
    processes_of,
    wait_until,
)

pytestmark = pytest.mark.timeout(90)
SETPRIV = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


def start_sleeper(corral: Corral, name: str, *extra: str) -> None:
    corral.ok("start", SLEEPER, "--name", name, *extra)


# ------------------------------------------------------------------- start-up


def test_ping_starts_a_detached_daemon_with_private_files(corral: Corral) -> None:
    out = corral.ok("ping")
    pid = corral.pid()
    assert f"daemon pid {pid}" in out
    assert stat.S_IMODE(os.stat(corral.root).st_mode) == 0o700
    sock = os.stat(corral.home.socket)
    assert stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o600
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    assert int(fields[4]) == 0, "the daemon has no controlling terminal (tty_nr)"
    assert os.getsid(pid) != os.getsid(0), "the daemon runs in its own session"
    assert "serving" in Path(corral.home.log).read_text()
    assert corral.ok("ping") == out  # the same daemon answers again


def test_concurrent_clis_start_exactly_one_daemon(corral: Corral) -> None:
    procs = [corral.spawn("ping") for _ in range(6)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    assert len({out for out, _ in outputs}) == 1, outputs
    daemons = [p for p in processes_of(corral.root) if b"corral.daemon" in _cmdline(p)]
    assert daemons == [corral.pid()]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def test_stale_socket_is_replaced_and_a_second_daemon_refuses(corral: Corral) -> None:
    os.makedirs(corral.root, mode=0o700)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(corral.home.socket)  # bound, never listening: connecting is refused
    stale.close()
    corral.ok("ping")
    second = subprocess.run(
        [PYTHON, "-m", "corral.daemon", "--home", corral.root, "--foreground"],
        capture_output=True,
        timeout=30,
    )
    assert second.returncode == 1 and "another daemon" in second.stderr.decode()
    corral.ok("ping")


@pytest.mark.skipif(
    os.getuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"
)
def test_a_peer_with_another_uid_is_refused(
    no_leftovers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest's tmp folders are 0700, so uid 65534 needs a home it can reach; the socket
    # is opened to it too, so that the uid check is the only thing that stops it.
    root = tempfile.mkdtemp(prefix="corral-peer-", dir="/tmp")
    monkeypatch.setenv("CORRAL_HOME", root)
    corral = Corral(Path(root))
    probe = (
        "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
        "s.settimeout(10); print(s.makefile('rb').readline().decode())"
    )
    try:
        corral.ok("ping")
        os.chmod(root, 0o711)
        os.chmod(corral.home.socket, 0o666)
        run = subprocess.run(
            [*SETPRIV, "/usr/bin/python3", "-c", probe, corral.home.socket],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 0, run.stderr
        assert '"code":"forbidden"' in run.stdout and "uid 65534" in run.stdout
        code, _out, err = corral("ping")  # nor does our own CLI trust a socket others may write
        assert code == 2 and "writable by other users" in err
        os.chmod(corral.home.socket, 0o600)
        corral.ok("ping")
    finally:
        left = corral.teardown()
        shutil.rmtree(root, ignore_errors=True)
    assert not left


# ----------------------------------------------------------------- robustness


def _raw(corral: Corral, hello: bool) -> tuple[socket.socket, io.BufferedReader]:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(10)
    sock.connect(corral.home.socket)
    reader = sock.makefile("rb")
    reader.readline()  # the daemon's hello
    if hello:
        sock.sendall(protocol.encode(protocol.hello()))
    return sock, reader


def test_fuzzed_bytes_get_an_error_or_a_close_never_a_stuck_daemon(corral: Corral) -> None:
    corral.ok("ping")

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        hello=st.booleans(),
        payload=st.one_of(
            st.binary(max_size=600),
            any_text(max_size=300).map(str.encode),
            st.recursive(
                st.none() | st.booleans() | st.integers() | any_text(max_size=20),
                lambda inner: (
                    st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(["id", "method", "params", "x"]), inner)
                ),
                max_leaves=12,
            ).map(lambda v: protocol.encode({"id": 7, "method": "list", "params": v})),
            st.sampled_from([b"[" * 100_000, b'{"id": 1, "method": "scale", "params": 5}']),
        ),
    )
    def exchange(hello: bool, payload: bytes) -> None:
        sock, reader = _raw(corral, hello)
        with sock, reader:
            sock.sendall(payload.replace(b"\n", b" ") + b"\n")
            sock.shutdown(socket.SHUT_WR)  # a blank line rightly gets no answer; EOF does
            answer = reader.readline()  # a reply, an error, or EOF: never a timeout
            if answer:
                assert b'"id"' in answer or b'"error"' in answer
        with corral.client() as client:
            assert client.call("ping")["pong"] is True

    exchange()


def test_huge_line_truncated_request_and_a_vanished_client(corral: Corral) -> None:
    start_sleeper(corral, "web")
    sock, reader = _raw(corral, hello=True)
    with sock, reader:
        with contextlib.suppress(OSError):  # the daemon may close while we still send
            sock.sendall(b"x" * (10 * 1024 * 1024))
        answer = reader.readline()
        assert b"line_too_long" in answer and reader.readline() == b""
    sock, reader = _raw(corral, hello=True)
    with sock, reader:
        sock.sendall(b'{"id": 1, "method": "st')  # cut off mid-request
    sock, reader = _raw(corral, hello=True)
    with sock, reader:  # asks for a stop and leaves before the answer
        sock.sendall(protocol.encode(protocol.request(1, "stop", {"targets": ["web"]})))
    wait_until(lambda: corral.rows()[0]["status"] == "stopped", what="the stop to complete")
    corral.ok("ping")


def test_fifty_concurrent_clients_leave_a_consistent_table(corral: Corral) -> None:
    corral.ok("start", "/bin/sleep", "--name", "w", "--kill-timeout", "500", "--", "1000")
    errors: list[BaseException] = []

    def client_work(n: int) -> None:
        try:
            with corral.client() as client:
                if n % 2 == 0:
                    client.call("scale", name="w", count="+1")
                elif n % 5 == 1:
                    client.call("restart", targets=["w"])
                else:
                    client.call("list")
        except BaseException as exc:  # reported below, with every other failure
            errors.append(exc)

    threads = [threading.Thread(target=client_work, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    rows = corral.rows()
    assert len(rows) == 26
    assert len({r["id"] for r in rows}) == 26 and len({r["pid"] for r in rows}) == 26
    assert {r["status"] for r in rows} == {"online"}
    assert sorted(r["instance"] for r in rows) == list(range(26))


# -------------------------------------------------------------- subscriptions


def test_subscribe_streams_a_snapshot_then_live_events(corral: Corral) -> None:
    start_sleeper(corral, "web")
    with corral.client() as watcher:
        watcher.link.settimeout(20)
        events = watcher.subscribe()
        first = next(events)
        assert first["kind"] == "state" and first["info"]["name"] == "web"
        corral.ok("stop", "web")
        seen = []
        for event in events:
            seen.append(event)
            if event["kind"] == "state" and event["info"]["status"] == "stopped":
                break
        assert any(e["kind"] == "lifecycle" for e in seen)


async def test_async_client_is_a_supervisor_api(corral: Corral) -> None:
    await asyncio.to_thread(corral.ok, "ping")
    api = AsyncClient(corral.home)

    [info] = await api.add([app("sleeper.py", "web")])
    assert info.status is ProcessState.ONLINE and info.pid
    stream = api.events()
    first = await asyncio.wait_for(anext(stream), 10)
    assert isinstance(first, StateChanged) and first.info.name == "web"
    [stopped] = await api.stop("web")
    assert stopped.status is ProcessState.STOPPED
    with pytest.raises(UnknownTarget):
        await api.restart("nope")
    assert [p.name for p in await api.list_processes()] == ["web"]
    await stream.aclose()  # type: ignore[attr-defined]


# ------------------------------------------------------- versions and shutdown


def _old_daemon(corral: Corral, version: str, protocol_version: int = 1) -> int:
    """Start a daemon that reports other versions (as an older release would)."""
    code = (
        "import sys, corral; corral.__version__ = sys.argv[1]; "
        "import corral.daemon.protocol as p; p.PROTOCOL_VERSION = int(sys.argv[2]); "
        "from corral.daemon.main import main; sys.exit(main(['--home', sys.argv[3]]))"
    )
    os.makedirs(corral.root, mode=0o700, exist_ok=True)
    subprocess.run(
        [PYTHON, "-c", code, version, str(protocol_version), corral.root],
        check=True,
        timeout=30,
        stdout=subprocess.DEVNULL,
    )
    wait_until(lambda: os.path.exists(corral.home.socket), what="the old daemon")
    return corral.pid()


def test_an_older_daemon_is_reported_and_update_replaces_it(corral: Corral) -> None:
    old = _old_daemon(corral, "0.0.1")
    code, _out, err = corral("start", SLEEPER, "--name", "web")
    assert code == 0 and "daemon runs version 0.0.1" in err and "corral update" in err
    start_sleeper(corral, "idle")
    corral.ok("stop", "idle")
    before = {r["name"]: r["pid"] for r in corral.rows()}
    out = corral.ok("update")
    assert "replaced by" in out and "2 processes restored" in out
    assert gone(old) and corral.pid() != old
    code, _out, err = corral("ping")
    assert code == 0 and err == ""
    rows = {r["name"]: r for r in corral.rows()}
    assert rows["web"]["status"] == "online" and rows["web"]["pid"] != before["web"]
    assert rows["idle"]["status"] == "stopped"


def test_an_incompatible_daemon_is_refused_but_can_be_killed(corral: Corral) -> None:
    _old_daemon(corral, "9.0.0", protocol_version=99)
    code, _out, err = corral("list")
    assert code == 1 and "protocol 99" in err and "corral update" in err
    assert "daemon stopped" in corral.ok("kill")
    assert not os.path.exists(corral.home.socket)


def test_sigterm_stops_every_app_then_the_daemon(corral: Corral) -> None:
    start_sleeper(corral, "web", "-i", "2")
    pid = corral.pid()
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: gone(pid), what="the daemon to exit")
    assert processes_of(corral.root) == []
    assert not os.path.exists(corral.home.socket) and not os.path.exists(corral.home.pid_file)
    assert "daemon exited" in Path(corral.home.log).read_text()


def test_kill_stops_stubborn_trees_and_leaves_nothing(corral: Corral) -> None:
    corral.ok("start", str(APPS / "stubborn.py"), "--kill-timeout", "300")
    start_sleeper(corral, "web")
    out = corral.ok("kill")
    assert "stopped 2 processes; daemon stopped" in out
    assert processes_of(corral.root) == []
    assert not os.path.exists(corral.home.socket)
    assert corral.ok("kill").strip() == "[corral] no daemon running"


def test_a_bad_request_is_an_error_not_a_crash(corral: Corral) -> None:
    corral.ok("ping")
    with corral.client() as client:
        bad: list[tuple[str, dict[str, Any]]] = [
            ("nope", {}),
            ("add", {"specs": [{"name": "x", "script": 5, "cwd": "/"}]}),
            ("add", {"specs": "no"}),
            ("stop", {"targets": []}),
            ("scale", {"name": "x", "count": "lots"}),
            ("signal", {"signal": "SIGNOPE", "targets": ["all"]}),
            ("restore", {"entries": [1, 2]}),
        ]
        for method, params in bad:
            with pytest.raises(DaemonError) as caught:
                client.call(method, **params)
            assert caught.value.code in ("unknown_method", "bad_params", "unknown_target")
        assert client.call("ping")["pong"] is True


def test_specs_with_wrong_types_are_refused_unit() -> None:
    from corral.daemon.specs import problems

    assert problems({"name": "a", "script": "/x", "cwd": "/"}) == []
    wrong = problems({"name": "a", "script": "/x", "cwd": "/", "args": "a b", "env": {"A": 1}})
    assert any(p.startswith("args") for p in wrong) and any(p.startswith("env") for p in wrong)
    assert problems({"script": "/x", "cwd": "/"}) == ["name is required"]


def test_stdin_of_the_daemon_is_devnull(corral: Corral) -> None:
    corral.ok("ping")
    assert os.readlink(f"/proc/{corral.pid()}/fd/0") == "/dev/null"
    assert os.readlink(f"/proc/{corral.pid()}/fd/2") == corral.home.log
    assert sys.executable  # the daemon runs this interpreter (launch uses sys.executable)


async def test_async_client_gives_history_and_host(corral: Corral) -> None:
    """The TUI's sparklines start full: the daemon serves its sampler's ring."""
    from corral.daemon.aclient import AsyncClient

    start_sleeper(corral, "s")
    client = AsyncClient(corral.home)
    deadline = time.monotonic() + 15
    samples: list[object] = []
    while len(samples) < 2 and time.monotonic() < deadline:
        samples = list(await client.history(0))
        await asyncio.sleep(0.1)  # polling the daemon's 1 s sampler, with a deadline
    assert len(samples) >= 2
    host = await client.host()
    assert host is not None and host.mem_total > 0
    [info] = await client.list_processes()
    assert info.memory is not None and info.memory > 0
