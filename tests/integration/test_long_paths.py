"""A CORRAL_HOME, or a cluster's `unix:` listen path, longer than a Unix socket address
holds (107 bytes): the daemon, its clients and the shared socket work all the same.

Deep build trees and pytest's own temporary folders make such paths; they used to fail
with "AF_UNIX path too long" (the benchmark smoke test under pytest-xdist met it first).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from corral.sockpath import MAX_PATH, connect, reachable
from tests.helpers import APPS, PYTHON, Corral, wait_until

pytestmark = pytest.mark.timeout(120)


def long_folder(tmp_path: Path) -> Path:
    folder = tmp_path / ("d" * 60) / ("e" * 60)
    folder.mkdir(parents=True)
    return folder


def get(path: str) -> bytes:
    """One HTTP GET over the Unix socket at PATH (through the same short alias)."""
    with reachable(path) as short, socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(short)
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    return reply


def test_a_deep_home_and_a_deep_listen_path_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = long_folder(tmp_path)
    home = folder / "home"
    listen = folder / "web.sock"
    assert len(str(home / "rpc.sock")) > MAX_PATH and len(str(listen)) > MAX_PATH
    monkeypatch.setenv("CORRAL_HOME", str(home))
    corral = Corral(home)
    try:
        eco = tmp_path / "eco.json"
        app = {
            "name": "web",
            "script": str(APPS / "httpd.py"),
            "interpreter": PYTHON,
            "instances": 2,
            "listen": f"unix:{listen}",
        }
        eco.write_text(json.dumps({"apps": [app]}))
        corral.ok("start", str(eco))
        wait_until(lambda: [r["status"] for r in corral.rows()] == ["online", "online"])
        pids = {r["pid"] for r in corral.rows()}
        assert int(get(str(listen)).split(b"\r\n\r\n", 1)[1]) in pids
        corral.ok("reload", "web")
        wait_until(lambda: {r["pid"] for r in corral.rows()}.isdisjoint(pids))
        assert int(get(str(listen)).split(b"\r\n\r\n", 1)[1]) not in pids
        assert os.stat(home / "rpc.sock").st_mode & 0o777 == 0o600
    finally:
        left = corral.teardown()
    assert not left


def test_reachable_keeps_short_paths_and_aliases_long_ones(tmp_path: Path) -> None:
    with reachable("/run/x.sock") as path:
        assert path == "/run/x.sock"
    long = str(long_folder(tmp_path) / "x.sock")
    with reachable(long) as path:
        assert len(path) <= MAX_PATH and os.path.realpath(os.path.dirname(path)) == str(
            Path(long).parent
        )


def test_connect_waits_out_a_full_backlog(tmp_path: Path) -> None:
    """A listener whose backlog is full: a client with a timeout used to fail at once with
    EAGAIN; `connect` gets in as soon as the listener accepts."""
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(0)
        queued = []
        try:
            while True:  # fill the backlog
                extra = socket.socket(socket.AF_UNIX)
                extra.setblocking(False)
                try:
                    extra.connect(path)
                except BlockingIOError:
                    extra.close()
                    break
                queued.append(extra)
            late = socket.socket(socket.AF_UNIX)
            late.settimeout(0.5)
            with pytest.raises(BlockingIOError):
                late.connect(path)  # what a plain connect does
            late.close()

            def drain() -> None:
                time.sleep(0.3)  # sleep-ok: the listener is late on purpose; the client waits
                while True:
                    try:
                        server.accept()[0].close()
                    except OSError:
                        return

            server.settimeout(2)
            thread = threading.Thread(target=drain)
            thread.start()
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(30)
                connect(client, path, 30)
            thread.join()
        finally:
            for sock in queued:
                sock.close()
