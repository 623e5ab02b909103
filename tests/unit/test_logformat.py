"""Log file names (PM2's rules) and date formats (dayjs tokens or strftime)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from corral.config.spec import AppSpec
from corral.engine.datefmt import compile_format, dayjs_to_strftime
from corral.engine.logfiles import log_paths, sanitise

TS = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1)) + 0.089


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("YYYY-MM-DD HH:mm:ss", "2026-03-04 05:06:07"),
        ("YYYY-MM-DDTHH:mm:ss.SSS", "2026-03-04T05:06:07.089"),
        ("D/M/YY h:m:s A", "4/3/26 5:6:7 AM"),
        ("[Day] dddd [of] MMMM", "Day Wednesday of March"),
        ("%Y-%m-%d %H:%M:%S.%f", "2026-03-04 05:06:07.089"),
        ("[at] HH:mm", "at 05:06"),
    ],
)
def test_formats(fmt: str, expected: str) -> None:
    assert compile_format(fmt)(TS) == expected


def test_timezone_token() -> None:
    text = compile_format("HH:mm Z")(TS)
    assert text[:5] == "05:06" and text[6] in "+-" and text[9] == ":"


def test_dayjs_translation_keeps_literals() -> None:
    assert dayjs_to_strftime("[100%] YYYY") == "100%% %Y"


def spec(**kw: Any) -> AppSpec:
    return AppSpec(name=str(kw.pop("name", "my_app")), script="/bin/true", cwd="/", **kw)


def test_sanitise_like_pm2() -> None:
    assert sanitise("my_app v2/x") == "my-app-v2-x"


def test_paths_merged_and_per_instance() -> None:
    one = log_paths(spec(), 3, "/h")
    assert (one.out, one.err, one.combined) == (
        "/h/logs/my-app-out.log",
        "/h/logs/my-app-error.log",
        None,
    )
    many = log_paths(spec(instances=2), 3, "/h")
    assert (many.out, many.err) == ("/h/logs/my-app-out-3.log", "/h/logs/my-app-error-3.log")
    merged = log_paths(spec(instances=2, merge_logs=True), 3, "/h")
    assert merged.out == "/h/logs/my-app-out.log"


def test_custom_paths_dev_null_and_combined() -> None:
    p = log_paths(
        spec(out_file="/var/x/app.txt", error_file="/dev/null", log_file="true", instances=2),
        1,
        "/h",
    )
    assert (p.out, p.err, p.combined) == ("/var/x/app.txt-1", None, "/h/logs/my-app-1.log")
