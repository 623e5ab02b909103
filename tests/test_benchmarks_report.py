"""Unit tests of the report's arithmetic and of the supervisord adapter's translations.

The advantage column is the headline of RESULTS.md: it must compare corral with the
better of pm2 and supervisord on each row, whichever way "better" points, and fall back
to the one peer measured when the other was not.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from benchmarks.adapters.base import AppDef, ToolUnavailable
from benchmarks.adapters.supervisord import parse_status, program_section
from benchmarks.report import ScenarioRun, brief, table
from benchmarks.scenarios import Metric, Scenario
from benchmarks.stats import advantage, best

LOWER = Metric("wall", "wall time", "s", "lower", 2)
HIGHER = Metric("rate", "lines/s", "lines/s", "higher", 0)


class Fake(Scenario):
    key = "fake"
    title = "Fake"
    metrics = (LOWER, HIGHER)


def run_with(values: dict[str, tuple[float, float]], skipped: dict[str, str]) -> ScenarioRun:
    """A finished run of Fake: column -> (wall, rate), one round each."""
    run = ScenarioRun(Fake(), skipped=dict(skipped))
    for column, (wall, rate) in values.items():
        run.values[column] = {"wall": [wall], "rate": [rate]}
    return run


def row(lines: list[str], label: str) -> list[str]:
    """The cells of the table row LABEL."""
    line = next(ln for ln in lines if ln.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_best_picks_by_direction_and_ignores_missing_figures() -> None:
    assert best([3.0, None, 2.0], "lower") == 2.0
    assert best([3.0, None, 2.0], "higher") == 3.0
    assert best([None, None], "lower") is None
    assert best([1.0], "info") is None


def test_advantage_is_against_the_better_peer_on_each_row() -> None:
    tools = ["corral", "pm2", "supervisord"]
    run = run_with({"corral": (1.0, 100.0), "pm2": (4.0, 50.0), "supervisord": (2.0, 200.0)}, {})
    lines = table([run], tools)
    assert lines[0] == (
        "| scenario | corral | pm2 | supervisord | corral advantage (x, vs the better peer)"
        " | bare respawn loop |"
    )
    # Lower is better: supervisord's 2.0 s beats pm2's 4.0 s, so 2.0 / 1.0.
    assert row(lines, "wall time")[4] == "2.00"
    # Higher is better: supervisord's 200 lines/s beats corral's 100: corral loses.
    assert row(lines, "lines/s")[4] == "**0.50 — corral loses**"


def test_a_peer_not_measured_leaves_the_advantage_to_the_other() -> None:
    tools = ["corral", "pm2", "supervisord"]
    skipped = {"supervisord": "not compared here (the issue compares it on four scenarios)"}
    run = run_with({"corral": (1.0, 100.0), "pm2": (4.0, 50.0)}, skipped)
    cells = row(table([run], tools), "wall time")
    assert cells[3] == "n/a (not compared here)"
    assert cells[4] == "4.00"


def test_with_pm2_alone_the_column_keeps_its_plain_title() -> None:
    run = run_with({"corral": (1.0, 100.0), "pm2": (3.0, 50.0)}, {})
    lines = table([run], ["corral", "pm2"])
    assert lines[0] == "| scenario | corral | pm2 | corral advantage (x) | bare respawn loop |"
    assert row(lines, "wall time")[3] == "3.00"


def test_brief_keeps_cells_short_and_the_notes_whole() -> None:
    assert brief("cannot timestamp log lines") == "cannot timestamp log lines"
    assert brief("not compared here (the issue compares supervisord only on …)") == (
        "not compared here"
    )
    assert brief("x" * 80) == "see the notes"


def test_advantage_of_zero_against_a_positive_peer_is_infinite() -> None:
    assert advantage(0.0, best([748.0, None], "lower"), "lower") == math.inf


def app(**knobs: Any) -> AppDef:
    return AppDef(name="web", script=Path("/srv/app.py"), interpreter="/usr/bin/python3", **knobs)


def test_program_section_maps_pm2_knobs_to_supervisord() -> None:
    section = program_section(
        app(args=("--port", "80 80"), instances=3, kill_timeout=1600, env={"A": 'x"y%z'}),
        Path("/h/logs"),
        Path("/w"),
    )
    lines = section.splitlines()
    assert lines[0] == "[program:web]"
    assert "command=/usr/bin/python3 /srv/app.py --port '80 80'" in lines
    assert "numprocs=3" in lines
    assert "process_name=%(program_name)s-%(process_num)d" in lines
    assert "startsecs=1" in lines  # min_uptime 1000 ms
    assert "stopwaitsecs=2" in lines  # 1600 ms, rounded up
    assert {"stopsignal=INT", "stopasgroup=true", "killasgroup=true"} <= set(lines)
    assert "stdout_logfile=/h/logs/web-out.log" in lines
    assert "stdout_logfile_maxbytes=0" in lines
    assert "environment=A='x\"y%%z'" in lines


@pytest.mark.parametrize(
    "knobs",
    [{"time": True}, {"max_memory_restart": "200M"}, {"env": {"A": 'it\'s "both"'}}],
)
def test_program_section_refuses_what_supervisord_cannot_do(knobs: dict[str, Any]) -> None:
    with pytest.raises(ToolUnavailable):
        program_section(app(**knobs), Path("/h/logs"), Path("/w"))


def test_status_lines_become_proc_views_in_pm2_words() -> None:
    text = (
        "app0                             RUNNING   pid 24751, uptime 0:00:02\n"
        "web:web-1                        STARTING  \n"
        "crasher                          FATAL     Exited too quickly\n"
        "stubborn                         STOPPED   Nov 28 12:55 AM\n"
        "unix:///h/supervisor.sock no such file\n"
    )
    views = [(v.name, v.status, v.pid) for v in parse_status(text)]
    assert views == [
        ("app0", "online", 24751),
        ("web", "launching", None),
        ("crasher", "errored", None),
        ("stubborn", "stopped", None),
    ]
