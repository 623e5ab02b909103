"""Runs the benchmark harness in quick mode for corral alone, so it never rots.

The full side-by-side run needs pm2 and minutes; this only proves every scenario still
drives corral end to end, writes a report, and leaves no process behind. The report
goes to a temporary path, never over the committed benchmarks/RESULTS.md. supervisord
(pip-installed into a cache on first use) gets its own short run over the scenarios it
is compared on.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from benchmarks.adapters.supervisord import find_or_install
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


def run_quick(tmp_path: Path, *options: str, timeout: float = 280) -> str:
    """The report of `python -m benchmarks --quick OPTIONS`, after checking that it
    succeeded and left no process behind."""
    output = tmp_path / "RESULTS.md"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    # Every temporary home and work folder of the run lands under SCRATCH, so a leaked
    # daemon or app is recognisable by its environment or arguments.
    env = dict(os.environ, TMPDIR=str(scratch))
    env.pop("CORRAL_HOME", None)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks", "--quick", *options, "--output", str(output)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    finally:  # a run that timed out leaves its daemons and apps too: end them either way
        leaked = processes_mentioning(str(scratch))
        for pid in leaked:
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert not leaked, f"the benchmark left processes behind: {leaked}"
    return output.read_text()


def cell(text: str, label: str, column: int) -> str:
    """The cell in COLUMN (1: the first after the label) of the table row LABEL."""
    row = next(line for line in text.splitlines() if line.startswith(f"| {label}"))
    return row.split("|")[column + 1].strip()


CORRAL_GROUPS = {
    # Every scenario, in three runs that test workers can take side by side (one run of
    # them all was the suite's longest test); each with rows that must hold figures.
    "processes": (
        "cli,footprint,crash_restart,stop,start,scale",
        (
            "crash restart: median start-to-start gap",
            "stop: wall time",
            "start: ",
            "scale: daemon RSS",
        ),
    ),
    "logs": (
        "log_throughput,log_plain,log_stderr,log_trickle,memory_limit,memory_limit200",
        (
            "logs stdout +time: lines/s",
            "logs stdout +time: lines missing",
            "log trickle: daemon CPU",
            "memory limit: crossing",
        ),
    ),
    "cluster-and-monitor": (
        "reload,reload_plain,monitor,monitor50",
        (
            "reload: failed requests during 3 `reload`s",
            "monitor: CPU of `monit`",
            "monitor: key press to screen",
        ),
    ),
}


@pytest.mark.slow
# About 15 s each on a quiet 2-core machine, a minute beside other test runs: the bound
# is for a hung run, not for a slow machine.
@pytest.mark.timeout(300)
@pytest.mark.parametrize("group", list(CORRAL_GROUPS))
def test_quick_run_for_corral_writes_results_and_cleans_up(tmp_path: Path, group: str) -> None:
    scenarios, labels = CORRAL_GROUPS[group]
    text = run_quick(tmp_path, "--tools", "corral,bare", "--scenarios", scenarios)
    assert "| scenario | corral | corral advantage (x) |" in text
    for label in labels:
        assert cell(text, label, 1)[:1].isdigit(), label
    assert "a round failed" not in text


def test_every_scenario_is_in_one_corral_group() -> None:
    from benchmarks.scenarios import ORDER

    grouped = [name for scenarios, _ in CORRAL_GROUPS.values() for name in scenarios.split(",")]
    assert sorted(grouped) == sorted(ORDER)


@pytest.mark.slow
@pytest.mark.timeout(400)  # a first pip install of supervisor may take minutes
def test_quick_run_for_supervisord_measures_its_four_scenarios(tmp_path: Path) -> None:
    launchers, how = find_or_install()
    if launchers is None:
        pytest.skip(f"supervisord cannot be installed here: {how}")
    scenarios = "cli,stop,log_plain,log_throughput,crash_restart"
    text = run_quick(tmp_path, "--tools", "supervisord", "--scenarios", scenarios, timeout=240)
    assert text.startswith("# corral vs supervisord")
    assert "| scenario | supervisord | corral advantage (x) |" in text
    assert re.search(r"^- supervisord version: \d+\.\d+", text, re.MULTILINE)
    for label in (
        "CLI: `jlist` with 10 apps running",
        "CLI: `list` with 10 apps running",
        "stop: wall time",
        "logs stdout: lines/s",
    ):
        assert cell(text, label, 1)[:1].isdigit(), label
    assert cell(text, "stop: processes alive after `stop` returned", 1) == "0"
    assert cell(text, "stop: state after `stop`", 1) == "stopped ×1"
    assert cell(text, "logs stdout: lines missing", 1) == "0"
    assert cell(text, "logs stdout +time: lines/s", 1) == "n/a (cannot timestamp log lines)"
    assert cell(text, "crash restart: median start-to-start gap", 1) == ("n/a (not compared here)")
    assert "a round failed" not in text
    assert "leftover process" not in text


def test_advantage_is_above_one_when_corral_is_better_whatever_the_unit() -> None:
    assert advantage(10.0, 30.0, "lower") == 3.0  # corral 10 ms, pm2 30 ms
    assert advantage(30.0, 10.0, "higher") == 3.0  # corral 30 req/s, pm2 10 req/s
    assert advantage(30.0, 10.0, "lower") == pytest.approx(1 / 3)
    assert advantage(0.0, 0.004, "lower", floor=0.01) == 1.0  # both idle: a tie
    assert advantage(1.0, 2.0, "info") is None
