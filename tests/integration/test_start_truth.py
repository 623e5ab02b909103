"""`corral start` reports the truth: the README's first example, and failures named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import Corral, free_port
from tests.httpload import get

pytestmark = pytest.mark.timeout(90)
SERVERS = Path(__file__).parents[1] / "apps" / "servers"


def test_readme_first_example_serves_one_port_from_four_pids(
    corral: Corral, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`corral start app.py --name api -i 4 -- --port 8000` with an ordinary http.server."""
    port = free_port()
    (tmp_path / "app.py").write_text((SERVERS / "http_server.py").read_text())
    monkeypatch.chdir(tmp_path)
    code, out, err = corral(
        "start", "app.py", "--name", "api", "-i", "4", "--", "--port", str(port)
    )
    assert code == 0, out + err
    rows = corral.rows()
    assert [r["status"] for r in rows] == ["online"] * 4 and all(r["restarts"] == 0 for r in rows)
    pids = {get(port) for _ in range(60)}
    assert pids == {str(r["pid"]) for r in rows}


def test_start_names_the_instances_that_failed_and_why(
    corral: Corral, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With the shim off, 3 of 4 fail on EADDRINUSE: start says so and exits 1."""
    port = free_port()
    (tmp_path / "app.py").write_text((SERVERS / "http_server.py").read_text())
    monkeypatch.chdir(tmp_path)
    # --min-uptime 3s: "up" means online that long; generous so that on a loaded machine
    # the instances reach their bind() (and fail) before start judges them.
    argv = ["start", "app.py", "--name", "api", "-i", "4", "--no-shim", "--min-uptime", "3s"]
    argv += ["--", "--port", str(port)]
    code, out, _ = corral(*argv)
    assert code == 1, out
    failed = [line for line in out.splitlines() if "Address already in use" in line]
    assert len(failed) == 3, out
    assert all(line.startswith("[corral] api (") for line in failed)


def test_listen_flag_shares_a_declared_socket(
    corral: Corral, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`--listen :PORT` for servers that take the socket explicitly (fd 3, LISTEN_FDS)."""
    port = free_port()
    app = Path(__file__).parents[1] / "apps" / "httpd.py"
    monkeypatch.chdir(tmp_path)
    code, out, err = corral("start", str(app), "-i", "2", "--listen", f"127.0.0.1:{port}")
    assert code == 0, out + err
    rows = corral.rows()
    assert rows[0]["spec"]["listen"] == [f"127.0.0.1:{port}"]
    assert {get(port) for _ in range(30)} == {str(r["pid"]) for r in rows}
    assert os.environ.get("CORRAL_BROKER_FD") is None  # nothing leaks into the test process
