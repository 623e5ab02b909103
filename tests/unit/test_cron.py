"""Cron patterns: validated at load (PM2's 6 fields, seconds first), stepped in local time."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from corral.config import AppSpec, ConfigError, spec_from_mapping
from corral.engine.cron import next_time


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/2 * * * * *", "2026-03-01 10:00:00.500", "2026-03-01 10:00:02"),
        ("*/2 * * * * *", "2026-03-01 10:00:02", "2026-03-01 10:00:04"),
        ("30 0 3 * * *", "2026-03-01 10:00:00", "2026-03-02 03:00:30"),  # seconds first
        ("0 3 * * *", "2026-03-01 02:59:59", "2026-03-01 03:00:00"),
        ("0 3 * * *", "2026-03-01 03:00:00", "2026-03-02 03:00:00"),
        ("@hourly", "2026-03-01 10:20:00", "2026-03-01 11:00:00"),
    ],
)
def test_next_time(expression: str, after: str, expected: str) -> None:
    assert next_time(expression, at(after)) == at(expected)


def load(folder: Path, **raw: object) -> AppSpec:
    raw.setdefault("name", "nightly")
    raw.setdefault("script", "app.py")
    return spec_from_mapping(raw, cwd=str(folder), base_env={"PATH": os.environ["PATH"]})


@pytest.mark.parametrize("bad", ["61 * * * *", "* * * * * 9", "*/0 * * * * *", "0 3 * *"])
def test_bad_pattern_is_a_config_error_naming_app_and_key(folder: Path, bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(folder, cron_restart=bad)
    [problem] = caught.value.problems
    assert (problem.app, problem.key) == ("nightly", "cron_restart")
    assert "not a cron pattern" in problem.message


def test_good_patterns_load(folder: Path) -> None:
    for good in ("*/2 * * * * *", "0 0 3 * * *", "0 3 * * 1-5", "@daily"):
        assert load(folder, cron_restart=good).cron_restart == good


def test_memory_scope_and_watch_delay(folder: Path) -> None:
    spec = load(folder)
    assert spec.memory_scope == "tree" and spec.watch_delay == 1000
    assert load(folder, memory_scope="process").memory_scope == "process"
    with pytest.raises(ConfigError) as caught:
        load(folder, memory_scope="pid")
    assert caught.value.problems[0].key == "memory_scope"
