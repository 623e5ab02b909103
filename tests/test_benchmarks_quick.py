"""Runs the benchmark harness in quick mode for corral alone, so it never rots.

The full side-by-side run needs pm2 and minutes; this only proves every scenario still
drives corral end to end, writes a report, and leaves no process behind. The report
goes to a temporary path, never over the committed benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from benchmarks.stats import advantage

ROOT = Path(__file__).resolve().parent.parent


def processes_mentioning(marker: str) -> list[int]:
    """Live processes whose command line or environment mentions MARKER."""
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            text = " ".join(proc.info["cmdline"] or []) + " ".join(
                f"{k}={v}" for k, v in (proc.info["environ"] or {}).items()
            )
            if marker in text and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


@pytest.mark.timeout(60)
def test_quick_run_for_corral_writes_results_and_cleans_up(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    # Every temporary home and work folder of the run lands under SCRATCH, so a leaked
    # daemon or app is recognisable by its environment or arguments.
    env = dict(os.environ, TMPDIR=str(scratch))
    env.pop("CORRAL_HOME", None)
    options = ["--quick", "--tools", "corral,bare", "--output", str(output)]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=55,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    leaked = processes_mentioning(str(scratch))
    for pid in leaked:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert not leaked, f"the benchmark left processes behind: {leaked}"
    text = output.read_text()
    assert "| scenario | corral | corral advantage (x) |" in text
    labels = (
        "crash restart: median start-to-start gap",
        "stop: wall time",
        "start: ",
        "logs stdout +time: lines/s",
        "logs stdout +time: lines missing",
        "log trickle: daemon CPU",
        "memory limit: crossing",
        "reload: failed requests during 3 `reload`s",
        "scale: daemon RSS",
    )
    for label in labels:
        row = next(line for line in text.splitlines() if line.startswith(f"| {label}"))
        corral_cell = row.split("|")[2].strip()
        assert corral_cell[:1].isdigit(), row
    assert "a round failed" not in text


def test_advantage_is_above_one_when_corral_is_better_whatever_the_unit() -> None:
    assert advantage(10.0, 30.0, "lower") == 3.0  # corral 10 ms, pm2 30 ms
    assert advantage(30.0, 10.0, "higher") == 3.0  # corral 30 req/s, pm2 10 req/s
    assert advantage(30.0, 10.0, "lower") == pytest.approx(1 / 3)
    assert advantage(0.0, 0.004, "lower", floor=0.01) == 1.0  # both idle: a tie
    assert advantage(1.0, 2.0, "info") is None
