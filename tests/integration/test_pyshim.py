"""Cluster mode for unmodified Python servers: their own bind() gets the shared socket."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from corral.config import spec_from_mapping
from corral.config.spec import AppSpec
from corral.engine import ProcessState
from tests.helpers import Sup, free_port, said
from tests.httpload import Load, answers, get

pytestmark = pytest.mark.timeout(90)
SERVERS = Path(__file__).parents[1] / "apps" / "servers"
S = ProcessState

KINDS: dict[str, tuple[str, list[str], str | None]] = {
    # kind: (script, args ({port} filled in), module it needs)
    "http.server": ("http_server.py", ["--port", "{port}"], None),
    "wsgiref": ("wsgiref_server.py", ["{port}"], None),
    "asyncio": ("asyncio_server.py", ["{port}"], None),
    "flask": ("flask_server.py", ["{port}"], "flask"),
    "django": ("django_server.py", ["runserver", "127.0.0.1:{port}"], "django"),
    "django --noreload": (
        "django_server.py",
        ["runserver", "--noreload", "127.0.0.1:{port}"],
        "django",
    ),
    "aiohttp": ("aiohttp_server.py", ["{port}"], "aiohttp"),
}


def server_spec(kind: str, port: int, **extra: object) -> AppSpec:
    script, args, _ = KINDS[kind]
    raw = {
        "name": "web",
        "script": str(SERVERS / script),
        "args": [a.format(port=port) for a in args],
        "instances": 4,
        # A short kill_timeout keeps each old instance's drain short (a third of it).
        "kill_timeout": 600,
        **extra,
    }
    return spec_from_mapping(raw, cwd=str(SERVERS), base_env=dict(os.environ))


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
async def test_unmodified_server_four_instances_one_port(sup: Sup, kind: str) -> None:
    module = KINDS[kind][2]
    if module is not None and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")
    s, rec = sup
    port = free_port()
    spec = server_spec(kind, port)
    assert spec.exec_mode == "cluster"
    await s.add([spec])
    # The socket is bound when the first instance asks for it: load starts once it answers.
    await rec.wait_for(lambda _: answers(port), 30)
    with Load(port) as load:
        # 4 pids answer: every instance accepts from the one shared socket.
        pids = {str(p.pid) for p in s.processes()}
        await rec.wait_for(lambda _: len(load.pids) == 4 and load.ok > 40, 30)
        assert load.pids <= pids | {str(c) for p in s.processes() for c in _children(p.pid)}
        # One rolling reload: four hand-overs under load per server kind (three reloads of
        # the plain server are in test_cluster; seven kinds times three cost a tenth of
        # the suite's CPU, mostly Django starting 48 times).
        await s.reload("web")
        count = load.ok
        await rec.wait_for(lambda _: load.ok > count + 40, 30)
    assert load.failed == 0, load.errors[:3]
    assert all(p.state is S.ONLINE for p in s.processes())
    assert not said(rec.events, "errored|address already in use")


async def test_django_autoreloader_shares_the_port(sup: Sup) -> None:
    """runserver's default: the reloader's child binds, through the inherited channel."""
    if importlib.util.find_spec("django") is None:
        pytest.skip("django is not installed")
    s, rec = sup
    port = free_port()
    raw = {
        "name": "dj",
        "script": str(SERVERS / "django_server.py"),
        "args": ["runserver", f"127.0.0.1:{port}"],
        "instances": 4,
    }
    await s.add([spec_from_mapping(raw, cwd=str(SERVERS), base_env=dict(os.environ))])
    await rec.wait_for(lambda _: answers(port), 30)
    with Load(port, threads=2) as load:
        await rec.wait_for(lambda _: len(load.pids) == 4, 30)
    assert load.failed == 0, load.errors[:3]


def _children(pid: int | None) -> list[int]:
    import psutil

    if pid is None:
        return []
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


async def test_a_server_with_its_own_graceful_handler_stops_without_sigkill(sup: Sup) -> None:
    """socketserver selects, then accepts: one connection wakes every instance, and those
    that lose the race find the queue empty. Stopped, each must still reach its own
    handler's shutdown() (found: the shim's accept() waited for the next connection, so
    every instance waited for corral's SIGKILL at kill_timeout)."""
    s, rec = sup
    port = free_port()
    raw = {
        "name": "web",
        "script": str(SERVERS / "http_server.py"),
        "args": ["--port", str(port), "--graceful"],
        "instances": 4,
        "kill_timeout": 20_000,
    }
    await s.add([spec_from_mapping(raw, cwd=str(SERVERS), base_env=dict(os.environ))])
    await rec.wait_for(lambda _: len(said(rec.events, "serving on", text=True)) == 4, 30)
    for _ in range(8):  # each request wakes all four
        get(port)
    await s.stop("web")
    assert not said(rec.events, "SIGKILL")
    assert len(said(rec.events, "stopped gracefully", text=True)) == 4
    assert all(p.exit_code == 0 for p in s.processes())


async def test_shim_off_fails_clearly_on_address_in_use(sup: Sup) -> None:
    s, rec = sup
    port = free_port()
    spec = server_spec("http.server", port, shim=False, autorestart=False)
    await s.add([spec])
    await rec.wait_for(lambda _: sum(p.state is S.ERRORED for p in s.processes()) == 3, 20)
    assert said(rec.events, "Address already in use", text=True)
    assert [p.state for p in s.processes()].count(S.ONLINE) == 1
    assert get(port) == str(next(p.pid for p in s.processes() if p.state is S.ONLINE))


async def test_app_sitecustomize_still_runs(sup: Sup, tmp_path: Path) -> None:
    """The shim's sitecustomize goes first on PYTHONPATH and runs the app's own after it."""
    s, rec = sup
    (tmp_path / "sitecustomize.py").write_text("import builtins\nbuiltins.MARK = 'app-site'\n")
    script = tmp_path / "show.py"
    script.write_text(
        "import builtins, socket, sys\n"
        "print('mark', getattr(builtins, 'MARK', None), flush=True)\n"
        "print('shim', socket.socket.bind.__module__, flush=True)\n"
        "sys.stdin.read()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    raw = {"name": "site", "script": str(script), "instances": 2, "autorestart": False}
    spec = spec_from_mapping(raw, cwd=str(tmp_path), base_env=env)
    await s.add([spec])
    await rec.wait_for(lambda ev: len(said(ev, "^shim ", text=True)) == 2, 20)
    assert len(said(rec.events, "^mark app-site$", text=True)) == 2
    assert said(rec.events, "^shim _corral_shim$", text=True)


async def test_reuse_port_app_shares_too(sup: Sup, tmp_path: Path) -> None:
    """An app that sets SO_REUSEPORT itself keeps working (and shares one queue)."""
    s, rec = sup
    port = free_port()
    script = tmp_path / "rp.py"
    script.write_text(
        "import os, socket, sys\n"
        "s = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n"
        f"s.bind(('127.0.0.1', {port}))\n"
        "s.listen(8)\n"
        "print('bound', flush=True)\n"
        "while True:\n"
        "    c, _ = s.accept()\n"
        "    c.recv(1024)\n"
        "    body = str(os.getpid()).encode()\n"
        "    head = b'HTTP/1.0 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(body)\n"
        "    c.sendall(head + body)\n"
        "    c.close()\n"
    )
    raw = {"name": "rp", "script": str(script), "instances": 2, "kill_timeout": 600}
    await s.add([spec_from_mapping(raw, cwd=str(tmp_path), base_env=dict(os.environ))])
    await rec.wait_for(lambda ev: len(said(ev, "^bound$", text=True)) == 2, 20)
    with Load(port, threads=2) as load:
        await rec.wait_for(lambda _: len(load.pids) == 2 and load.ok > 20, 20)
        await s.reload("rp")
        count = load.ok
        await rec.wait_for(lambda _: load.ok > count + 20, 20)
    assert load.failed == 0, load.errors[:3]
    assert sys.platform != "linux" or s.pool.addresses("rp") == [f"127.0.0.1:{port}"]


async def test_shipped_flask_example(sup: Sup, tmp_path: Path) -> None:
    """config/cluster/flask.toml as shipped (on a free port): 4 pids answer one port."""
    if importlib.util.find_spec("flask") is None:
        pytest.skip("flask is not installed")
    from corral.config import load_ecosystem

    s, rec = sup
    port = free_port()
    source = Path(__file__).parents[2] / "config" / "cluster"
    (tmp_path / "flask_app.py").write_text((source / "flask_app.py").read_text())
    text = (source / "flask.toml").read_text().replace('"8000"', f'"{port}"')
    (tmp_path / "flask.toml").write_text(text)
    eco = load_ecosystem(tmp_path / "flask.toml", base_env=dict(os.environ))
    assert [a.exec_mode for a in eco.apps] == ["cluster"]
    await s.add(list(eco.apps))
    await rec.wait_for(lambda _: answers(port), 30)
    with Load(port, threads=2) as load:
        await rec.wait_for(lambda _: len(load.pids) == 4, 30)
    assert load.failed == 0, load.errors[:3]
