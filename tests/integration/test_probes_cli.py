"""Probes as the CLI shows them through the daemon: jlist's `probe` field and `describe`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.helpers import APPS, PYTHON, Corral, free_port, wait_until


def rows(corral: Corral) -> dict[str, dict[str, Any]]:
    return {str(r["name"]): r for r in json.loads(corral.ok("jlist"))}


def test_jlist_and_describe_show_each_probe(corral: Corral, tmp_path: Path) -> None:
    closed = free_port()
    (tmp_path / "eco.toml").write_text(
        f"""
[[apps]]
name = "api"
script = "{APPS / "sleeper.py"}"
interpreter = "{PYTHON}"
readiness_probe = {{ exec = "true", period = "100ms" }}
liveness_probe = {{ tcp = "127.0.0.1:{closed}", period = "100ms", failure_threshold = 1000 }}
"""
    )
    corral.ok("start", str(tmp_path / "eco.toml"))
    wait_until(lambda: rows(corral)["api"]["probe"]["liveness"]["failures"] >= 2)
    row = rows(corral)["api"]
    readiness, liveness = row["probe"]["readiness"], row["probe"]["liveness"]
    assert row["status"] == "online"
    assert readiness["verdict"] == "ok" and readiness["last"] == "ok"
    assert readiness["failures"] == 0 and not readiness["running"]
    assert liveness["kind"] == "tcp" and liveness["target"] == f"127.0.0.1:{closed}"
    assert liveness["verdict"] == "pending" and liveness["last"] == "failed"
    assert liveness["last_error"] == f"connect 127.0.0.1:{closed}: connection refused"
    assert liveness["running"] and liveness["last_at"] > 0
    assert row["spec"]["liveness_probe"]["failure_threshold"] == 1000
    text = " ".join(corral.ok("describe", "api").split())  # columns aligned: one space here
    assert "readiness probe exec true every 100ms, timeout 1s, fails after 3" in text
    assert "readiness ✓ ok (checked " in text
    assert f"liveness probe connect 127.0.0.1:{closed} every 100ms" in text
    refused = f"connect 127.0.0.1:{closed}: connection refused"
    assert f" in a row: {refused} (checked " in text and "liveness ✖ failed, " in text


def test_start_names_an_app_its_liveness_probe_restarted(corral: Corral, tmp_path: Path) -> None:
    closed = free_port()
    (tmp_path / "eco.toml").write_text(
        f"""
[[apps]]
name = "hung"
script = "{APPS / "sleeper.py"}"
interpreter = "{PYTHON}"
liveness_probe = {{ tcp = "127.0.0.1:{closed}", period = "100ms", failure_threshold = 1 }}
"""
    )
    code, out, err = corral("start", str(tmp_path / "eco.toml"))
    assert code == 1
    refused = f"connect 127.0.0.1:{closed}: connection refused"
    # Restarted, or (when the 15 restarts all came between two of start's looks, on a busy
    # machine) errored by them: either way the probe is named, not the SIGINT it sent.
    assert re.search(
        rf"hung \(0\) (errored, )?restarted by its liveness probe: {re.escape(refused)}", out + err
    ), out + err
