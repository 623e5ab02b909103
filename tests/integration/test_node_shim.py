"""Node apps as PM2 runs them: launchers without an extension, listen() on any port in
cluster mode, process.send('ready') for wait_ready."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psutil
import pytest

from corral.config import spec_from_mapping
from corral.config.spec import AppSpec
from corral.engine import ProcessState
from corral.engine.events import Lifecycle
from tests.helpers import Sup, free_port, said
from tests.httpload import Load, answers, get

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]
S = ProcessState
LAUNCHER = """#!/usr/bin/env node
// Like node_modules/next/dist/bin/next: no extension, a shebang, listen(port) itself.
const http = require('http');
const port = Number(process.argv[2]);
http.createServer((req, res) => {
  res.setHeader('Connection', 'close');
  res.end(String(process.pid));
}).listen(port, () => console.log(`launcher listening as ${process.pid}`));
"""


def launcher(folder: Path, name: str = "next", text: str = LAUNCHER) -> Path:
    path = folder / name
    path.write_text(text)
    path.chmod(0o755)
    return path


def spec(raw: dict[str, object], folder: Path) -> AppSpec:
    return spec_from_mapping(raw, cwd=str(folder), base_env=dict(os.environ))


async def test_extensionless_launcher_cluster_on_undeclared_port(sup: Sup, tmp_path: Path) -> None:
    """Runs through node (node_args kept, preload loaded); 0 failed requests over a reload."""
    s, rec = sup
    port = free_port()
    raw = {
        "name": "next",
        "script": str(launcher(tmp_path)),
        "args": [str(port)],
        "instances": 4,
        "node_args": "--max-old-space-size=256",
        "kill_timeout": 600,
    }
    app = spec(raw, tmp_path)
    assert os.path.basename(app.interpreter or "") == "node"
    assert app.exec_mode == "cluster" and not app.listen
    await s.add([app])
    await rec.wait_for(lambda ev: len(said(ev, "launcher listening", text=True)) == 4, 30)
    cmdline = psutil.Process(s.get(0).pid).cmdline()
    assert "--max-old-space-size=256" in cmdline and cmdline[0].endswith("node")
    with Load(port) as load:
        await rec.wait_for(lambda _: len(load.pids) == 4 and load.ok > 40, 30)
        await s.reload("next")
        count = load.ok
        await rec.wait_for(lambda _: load.ok > count + 40, 30)
    assert load.failed == 0, load.errors[:3]
    assert all(p.state is S.ONLINE for p in s.processes())


async def test_the_socket_node_instances_share_is_non_blocking(sup: Sup, tmp_path: Path) -> None:
    """libuv accepts until EAGAIN: on a blocking socket an instance's main thread waited in
    accept4() after a connection, with the one it had just taken unread (found under load
    from /proc/PID/syscall of an instance sitting on a request: accept4, in
    inet_csk_accept; 3 requests in 36 reloads timed out)."""
    s, rec = sup
    port = free_port()
    raw = {"name": "next", "script": str(launcher(tmp_path)), "args": [str(port)], "instances": 2}
    await s.add([spec(raw, tmp_path)])
    await rec.wait_for(lambda ev: len(said(ev, "launcher listening", text=True)) == 2, 30)
    for proc in s.processes():
        assert proc.pid is not None
        listening = [
            c.fd
            for c in psutil.Process(proc.pid).net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        ]
        assert listening, f"instance {proc.pid} does not listen on {port}"
        with open(f"/proc/{proc.pid}/fdinfo/{listening[0]}") as info:
            flags = int(next(line for line in info if line.startswith("flags:")).split()[1], 8)
        assert flags & os.O_NONBLOCK, f"instance {proc.pid}: fd {listening[0]} is blocking"


async def test_two_node_apps_share_one_port(sup: Sup, tmp_path: Path) -> None:
    s, rec = sup
    port = free_port()
    script = launcher(tmp_path)
    apps = [
        spec({"name": n, "script": str(script), "args": [str(port)], "instances": 1}, tmp_path)
        for n in ("a", "b")
    ]
    await s.add(apps)
    await rec.wait_for(lambda ev: len(said(ev, "launcher listening", text=True)) == 2, 30)
    with Load(port, threads=2) as load:
        await rec.wait_for(lambda _: len(load.pids) == 2, 30)
    assert load.failed == 0, load.errors[:3]
    await s.delete("a")
    assert get(port) == str(s.processes()[0].pid)  # b still holds the socket


async def test_listen_error_reaches_the_app(sup: Sup, tmp_path: Path) -> None:
    """A port corral cannot bind fails like Node's own EADDRINUSE, on the server's 'error'."""
    import socket

    s, rec = sup
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", port))
        taken.listen()
        raw = {
            "name": "n",
            "script": str(launcher(tmp_path)),
            "args": [str(port)],
            "instances": 1,
            "autorestart": False,
        }
        await s.add([spec(raw, tmp_path)])
        await rec.wait_for(lambda _: s.get(0).state is S.ERRORED, 20)  # a one-shot that exited 1
    assert said(rec.events, "EADDRINUSE", text=True)


READY = """
const http = require('http');
const port = Number(process.argv[2]);
setTimeout(() => {
  http.createServer((req, res) => res.end(String(process.pid))).listen(port, () => {
    if (process.argv[3] !== 'never') process.send('ready');
  });
}, 300);
"""


@pytest.mark.parametrize("mode", ["fork", "cluster"])
async def test_wait_ready_by_process_send(sup: Sup, tmp_path: Path, mode: str) -> None:
    """pm2's wait_ready: online only once the app calls process.send('ready')."""
    s, rec = sup
    port, other = free_port(), free_port()
    (tmp_path / "ready.js").write_text(READY)
    common = {"script": str(tmp_path / "ready.js"), "wait_ready": True, "exec_mode": mode}
    await s.add(
        [
            # 20 s: a loaded machine must not make "ok" online by the timeout instead.
            spec({**common, "name": "ok", "args": [str(port)], "listen_timeout": 20000}, tmp_path),
            spec(
                {**common, "name": "mute", "args": [str(other), "never"], "listen_timeout": 1500},
                tmp_path,
            ),
        ]
    )
    assert s.get(0).state is S.LAUNCHING
    await rec.wait_for(lambda _: s.get(0).state is S.ONLINE, 20)
    assert answers(port)
    await rec.wait_for(lambda _: s.get(1).state is S.ONLINE, 20)
    timeouts = [
        e for e in rec.events if isinstance(e, Lifecycle) and "not ready after" in e.message
    ]
    assert [e.id for e in timeouts] == [1]  # only the app that never sent 'ready'
