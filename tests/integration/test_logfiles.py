"""Log files: PM2's names and formats, and rotation that loses and repeats no line."""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from corral.config.spec import AppSpec
from corral.engine import ProcessState, Supervisor
from corral.engine.events import LogLines
from corral.engine.logfiles import Rotation, log_paths, rotated_files
from tests.helpers import Recorder, app

pytestmark = pytest.mark.timeout(120)
Sup = tuple[Supervisor, Recorder]


def read_all(path: str) -> bytes:
    """The rotated files (oldest first, gz decompressed), then the live file."""
    data = b""
    for old in rotated_files(path):
        with gzip.open(old, "rb") if old.endswith(".gz") else open(old, "rb") as handle:
            data += handle.read()
    return data + Path(path).read_bytes()


async def run_to_exit(s: Supervisor, rec: Recorder, *specs: AppSpec) -> None:
    await s.add(list(specs))
    ended = {ProcessState.COMPLETED, ProcessState.ERRORED}  # one-shots: exit 0, or failed
    await rec.wait_for(lambda _: all(p.state in ended for p in s.processes()), 60)


def numbers_in(data: bytes) -> list[int]:
    """The counters the numbers app printed, stamped or not (a line that is not one fails)."""
    pattern = re.compile(rb"(?:\S+: )?(\d+)")
    found = [pattern.match(line) for line in data.splitlines()]
    assert all(found), data[:200]
    return [int(m.group(1)) for m in found if m]


@pytest.mark.parametrize(
    ("args", "stream", "compress"),
    [
        (("200000",), "out", False),
        (("100000", "--err"), "err", False),
        (("20000", "--width", "3000"), "out", True),
        (("100000", "--junk", "--no-final-newline"), "out", False),
    ],
    ids=["stdout", "stderr", "long-lines-gzip", "junk-no-final-newline"],
)
@pytest.mark.slow
async def test_rotation_loses_no_line(
    sup: Sup, args: tuple[str, ...], stream: str, compress: bool
) -> None:
    s, rec = sup
    spec = app(
        "numbers.py",
        "n",
        args=args,
        autorestart=False,
        time=True,
        log_max_size=512 * 1024,
        log_retain=10_000,
        log_compress=compress,
    )
    await run_to_exit(s, rec, spec)
    paths = log_paths(spec, 0, s.home)
    path = paths.out if stream == "out" else paths.err
    assert path is not None
    rotated = rotated_files(path)
    assert len(rotated) >= 5
    if compress:
        await rec.wait_for(lambda _: all(f.endswith(".gz") for f in rotated_files(path)), 30)
    data = read_all(path)
    count = int(args[0])
    assert numbers_in(data) == list(range(count))
    if "--junk" in args:
        assert data.count(b"\xff\xfe") == count  # bytes kept exactly
    # every line has its timestamp prefix
    assert all(re.match(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: ", line) for line in data.splitlines())


async def test_retain_prunes_oldest(sup: Sup) -> None:
    s, rec = sup
    spec = app(
        "numbers.py", "n", args=("50000",), autorestart=False, log_max_size=100_000, log_retain=3
    )
    await run_to_exit(s, rec, spec)
    path = log_paths(spec, 0, s.home).out
    assert path is not None
    assert len(rotated_files(path)) == 3
    assert numbers_in(read_all(path))[-1] == 49_999


async def test_names_instances_and_dev_null(sup: Sup, tmp_path: Path) -> None:
    s, rec = sup
    await run_to_exit(
        s,
        rec,
        app("crasher.py", "my_app", args=("0",), autorestart=False, instances=2),
        app(
            "crasher.py",
            "solo",
            args=("0",),
            autorestart=False,
            error_file="/dev/null",
            out_file=str(tmp_path / "deep" / "solo.log"),
            log_file="true",
        ),
    )
    logs = Path(s.home, "logs")
    assert sorted(os.listdir(logs)) == [
        "my-app-error-0.log",
        "my-app-error-1.log",
        "my-app-out-0.log",
        "my-app-out-1.log",
        "solo.log",
    ]
    assert b"instance=1" in (logs / "my-app-out-1.log").read_bytes()
    assert b"crasher pid=" in (tmp_path / "deep" / "solo.log").read_bytes()
    assert b"crasher pid=" in (logs / "solo.log").read_bytes()  # combined


async def test_json_and_date_format(sup: Sup) -> None:
    s, rec = sup
    await run_to_exit(
        s,
        rec,
        app("chatty.py", "j", args=("3", "--exit"), autorestart=False, log_type="json"),
        app(
            "chatty.py",
            "d",
            args=("3", "--exit"),
            autorestart=False,
            log_date_format="YYYY-MM-DD HH:mm:ss.SSS Z",
        ),
    )
    logs = Path(s.home, "logs")
    objs = [json.loads(line) for line in (logs / "j-out.log").read_text().splitlines()]
    assert [o["message"] for o in objs] == ["line 0", "line 1", "line 2", "done"]
    assert set(objs[0]) == {"message", "timestamp", "type", "process_id", "app_name"}
    assert objs[0]["type"] == "out" and objs[0]["app_name"] == "j" and objs[0]["process_id"] == 0
    first = (logs / "d-out.log").read_text().splitlines()[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d: line 0", first)


async def test_reopen_after_external_rotation(sup: Sup) -> None:
    s, rec = sup
    spec = app("chatty.py", "c", args=("5", "--interval", "0.05"))
    await s.add([spec])
    path = Path(log_paths(spec, 0, s.home).out or "")
    await rec.wait_for(lambda _: path.exists() and b"line 1" in path.read_bytes())
    path.rename(path.with_suffix(".old"))
    s.logs.reopen()
    await rec.wait_for(lambda _: path.exists() and b"done" in path.read_bytes())
    s.logs.truncate([0])
    assert path.read_bytes() == b""


def test_default_rotation_is_pm2_logrotate() -> None:
    assert Rotation() == Rotation(10 * 1024 * 1024, 30, False, "0 0 * * *")


# ------------------------------------------------ bursts on the plain path (issue 19)


@pytest.fixture(params=["lent", "published"])
async def plain(
    request: pytest.FixtureRequest, home: Path, no_leftovers: None
) -> AsyncIterator[Sup]:
    """A Supervisor whose recorder ignores log lines, so the files are their only taker
    and lines are lent to them from the read buffer ("lent"), or one whose recorder takes
    them too, so every read is published as a block first ("published")."""
    supervisor, recorder = Supervisor(home), Recorder()
    supervisor.add_sink(recorder, samples=True, lines=request.param == "published")
    async with supervisor:
        yield supervisor, recorder


def numbers_output(count: int) -> bytes:
    """What tests/apps/numbers.py writes for COUNT lines, the last with no newline."""
    lines = [b"%d " % i + b"x" * max(0, 56 - len(b"%d" % i) - 2) for i in range(count)]
    return b"\n".join(lines)


async def test_plain_burst_with_a_partial_last_line_is_copied_exactly(plain: Sup) -> None:
    """No time stamp: each read's whole lines go to the file as they are, or as one block.
    Every byte arrives, rotation cuts only between lines, and the last line, which has
    no newline, is written once its writer has gone quiet (ended by a newline)."""
    s, rec = plain
    count = 200_000
    spec = app(
        "numbers.py",
        "n",
        args=(str(count), "--no-final-newline"),
        autorestart=False,
        log_max_size=512 * 1024,
        log_retain=10_000,
    )
    await run_to_exit(s, rec, spec)
    path = log_paths(spec, 0, s.home).out
    assert path is not None
    assert len(rotated_files(path)) >= 5
    files = [*rotated_files(path), path]
    assert all(Path(f).read_bytes().endswith(b"\n") for f in files), "a line cut by rotation"
    assert read_all(path) == numbers_output(count) + b"\n"


@pytest.mark.parametrize("plain", ["lent"], indirect=True)
async def test_a_viewer_coming_and_going_mid_burst_costs_the_file_nothing(
    plain: Sup, tmp_path: Path
) -> None:
    """Lines go to the files straight from the read buffer while nobody else takes them
    (issue 19), and as published blocks while a viewer listens. A viewer that arrives in
    the middle of a flood gets whole lines from its first event on (it may be told it
    lagged, never given half a line); the file loses and repeats nothing as the reader
    switches to publishing when it arrives and back to lending when it leaves."""
    s, rec = plain
    go, stop = tmp_path / "go", tmp_path / "stop"
    spec = app("blaster.py", "b", args=("1", str(go), str(stop)))
    lent = 0
    write_lent = s.logs.write_lent

    def counting(*args: Any) -> None:  # observes which path each read took
        nonlocal lent
        lent += 1
        write_lent(*args)

    s.logs.write_lent = counting  # type: ignore[method-assign, assignment]
    await s.add([spec])
    path = Path(log_paths(spec, 0, s.home).out or "")
    await rec.wait_for(lambda _: path.exists() and b"waiting" in path.read_bytes())
    go.touch()
    await rec.wait_for(lambda _: lent > 4, timeout=60)
    line = b"x" * 99
    seen = 0
    viewer = s.events()
    async for event in viewer:
        if isinstance(event, LogLines) and event.id == 0:
            lines = event.lines
            assert all(got == line for got in lines), lines[:3]
            seen += len(lines)
            if seen > 20_000:
                break
    await viewer.aclose()  # type: ignore[attr-defined]
    assert seen > 20_000
    lent_while_watched = lent
    await rec.wait_for(lambda _: lent > lent_while_watched + 4, timeout=60)  # lent again
    stop.touch()
    await rec.wait_for(lambda _: b"flood done" in read_all(str(path)), timeout=60)
    data = read_all(str(path))
    done = re.search(rb"flood done (\d+)\n", data)
    assert done is not None
    flood = data[data.index(line) : done.start()]
    assert flood == (line + b"\n") * (int(done.group(1)) * 640)
