"""The daily rotation time is computed without croniter, and agrees with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from croniter import croniter  # type: ignore[import-untyped, unused-ignore]

from corral.engine import logrotate


@pytest.fixture
def paris() -> Iterator[None]:
    """A zone with DST shifts: croniter, given a bare timestamp, works in UTC, and so
    must the fast path, whatever the local zone."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


Moment = tuple[int, int, int, int, int, int]

NOWS: list[Moment] = [
    (2026, 3, 28, 23, 59, 59),  # the night before spring-forward
    (2026, 3, 29, 1, 30, 0),
    (2026, 10, 24, 23, 0, 0),  # the night before fall-back
    (2026, 10, 25, 0, 0, 0),  # exactly at the time: the next one is a day later
    (2026, 12, 31, 23, 59, 0),  # year end
    (2026, 6, 15, 12, 0, 0),
]


@pytest.mark.usefixtures("paris")
@pytest.mark.parametrize("expression", ["0 0 * * *", "30 3 * * *", "59 23 * * *"])
@pytest.mark.parametrize("now", NOWS)
def test_daily_fast_path_agrees_with_croniter(expression: str, now: Moment) -> None:
    at = time.mktime((*now, 0, 0, -1))
    daily = logrotate._daily(expression)
    assert daily is not None
    expected = croniter(expression, at).get_next(float)
    assert logrotate._next_daily(*daily, at) == expected


@pytest.mark.parametrize("expression", ["*/5 * * * *", "0 0 * * 1", "0 0 1 * *", "60 0 * * *"])
def test_other_expressions_still_go_to_croniter(expression: str) -> None:
    assert logrotate._daily(expression) is None


def test_the_default_interval_does_not_import_croniter() -> None:
    code = (
        "import sys\n"
        "from corral.engine.logfiles import Rotation\n"
        "from corral.engine.logrotate import next_time\n"
        "assert next_time(Rotation().interval) is not None\n"
        "print('croniter' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
