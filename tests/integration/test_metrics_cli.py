"""`corral metrics`: Prometheus's text format, checked by Prometheus's own parsers.

The values are compared with `jlist` taken around the same instant: counters and states
must agree exactly, sampled figures within one sampling period's movement.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import APPS, wait_until

pytestmark = pytest.mark.timeout(90)
CORRAL = str(Path(sys.executable).with_name("corral"))


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CORRAL, *args],
        env={**os.environ, "CORRAL_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    try:
        yield tmp_path
    finally:
        cli(tmp_path, "kill")


def samples(text: str) -> dict[tuple[str, str], float]:
    """(metric sample name, app) -> value, for the process metrics; daemon ones under app ''."""
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if family.name == "corral_process_status":
                if sample.value:
                    out[
                        ("status:" + sample.labels["corral_process_status"], sample.labels["app"])
                    ] = 1
                continue
            out[(sample.name, sample.labels.get("app", ""))] = sample.value
    return out


def test_metrics_parse_and_match_jlist(home: Path) -> None:
    """Every process appears with the labels the issue names; up, status, restarts and the
    memory limit equal jlist's; memory is the sampled tree RSS."""
    assert (
        cli(
            home, "start", str(APPS / "sleeper.py"), "--name", "web", "--max-memory-restart", "200M"
        ).returncode
        == 0
    )
    assert cli(home, "start", str(APPS / "sleeper.py"), "--name", "idle").returncode == 0
    assert cli(home, "stop", "idle").returncode == 0
    # Wait for the first memory sample, so the figures are the sampler's, not zero.
    wait_until(lambda: json.loads(cli(home, "jlist").stdout)[0]["memory"] > 0)
    out = cli(home, "metrics")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(cli(home, "jlist").stdout)}
    got = samples(out.stdout)
    assert got[("corral_up", "")] == 1
    assert got[("corral_process_up", "web")] == 1 and got[("corral_process_up", "idle")] == 0
    assert got[("status:online", "web")] == 1 and got[("status:stopped", "idle")] == 1
    assert got[("corral_process_restarts_total", "web")] == rows["web"]["restarts"]
    assert got[("corral_process_memory_limit_bytes", "web")] == 200 * 1024 * 1024
    assert got[("corral_process_memory_bytes", "web")] > 1_000_000
    # A sleeping tree's RSS moves little between two samples a moment apart.
    assert abs(got[("corral_process_memory_bytes", "web")] - rows["web"]["memory"]) < 4_000_000
    assert got[("corral_daemon_processes", "")] == 2
    assert got[("corral_daemon_subscribers", "")] == 0
    assert got[("corral_daemon_log_lines_dropped_total", "")] == 0
    assert got[("corral_daemon_persistence_failures_total", "")] == 0
    assert ("corral_daemon_log_lines_written_total", "") in got
    assert got[("corral_daemon_memory_bytes", "")] > 1_000_000
    families = {f.name: f for f in text_string_to_metric_families(out.stdout)}
    labels = families["corral_process_up"].samples[0].labels
    assert set(labels) == {"app", "id", "namespace", "instance", "exec_mode"}
    assert families["corral_process_cpu_seconds"].type == "counter"
    promtool = shutil.which("promtool")
    if promtool:  # Debian's prometheus package; checked where it is installed
        check = subprocess.run(
            [promtool, "check", "metrics"],
            input=out.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr


def test_log_bytes_count_from_the_start_and_lines_from_the_first_scrape(home: Path) -> None:
    """Bytes written to log files are counted always; lines once a scrape has read the
    figures (a scan of every block the daemon otherwise never needs, issue 19), and from
    then on exactly."""
    numbers, logs = str(APPS / "numbers.py"), home / "logs"

    def run(name: str, lines: int) -> None:  # numbers.py writes 56-byte lines, then exits
        started = cli(home, "start", numbers, "--name", name, "--no-autorestart", "--", str(lines))
        assert started.returncode == 0, started.stderr
        out = logs / f"{name}-out.log"
        wait_until(lambda: out.exists() and out.stat().st_size == 56 * lines)

    run("before", 1000)
    got = samples(cli(home, "metrics").stdout)
    assert got[("corral_daemon_log_bytes_written_total", "")] == 56 * 1000
    assert got[("corral_daemon_log_lines_written_total", "")] == 0
    run("after", 2000)
    got = samples(cli(home, "metrics").stdout)
    assert got[("corral_daemon_log_bytes_written_total", "")] == 56 * 3000
    assert got[("corral_daemon_log_lines_written_total", "")] == 2000


def test_metrics_without_a_daemon_exits_1_and_starts_none(tmp_path: Path) -> None:
    out = cli(tmp_path, "metrics")
    assert out.returncode == 1
    assert "no daemon" in out.stderr
    assert not (tmp_path / "rpc.sock").exists()


def test_metrics_listen_serves_http_on_loopback(home: Path) -> None:
    """--listen serves /metrics at each scrape; the daemon going away gives corral_up 0."""
    assert cli(home, "start", str(APPS / "sleeper.py"), "--name", "web").returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [CORRAL, "metrics", "--listen", f":{port}"],
        env={**os.environ, "CORRAL_HOME": str(home)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert f"http://127.0.0.1:{port}/metrics" in line
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=20).read()
        assert samples(body.decode())[("corral_process_up", "web")] == 1
        assert cli(home, "kill").returncode == 0
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=20).read()
        assert samples(body.decode())[("corral_up", "")] == 0
    finally:
        server.terminate()
        server.wait(10)
