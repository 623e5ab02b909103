"""`corral up --no-ui` end to end, as a user runs it: a subprocess, real signals, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import APPS, Up, eco

pytestmark = pytest.mark.timeout(60)
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\S+)\[(\d+)\] ([|!]) (.*)$")
LIFECYCLE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[corral\] (\S+)\[(\d+)\] (.*)$")


TWO_APPS = """
[[apps]]
name = "chat"
script = "APPS/chatty.py"
args = ["30", "--interval", "0.01"]

[[apps]]
name = "crash"
script = "APPS/crasher.py"
args = ["2"]
max_restarts = 3
"""


def test_merged_output_and_crash_cycle(
    tmp_path: Path, up_env: dict[str, str], runner: list[Up]
) -> None:
    up = Up([str(eco(tmp_path, TWO_APPS))], tmp_path, up_env)
    runner.append(up)
    up.wait_for(r"crash\[1\] errored: 3 unstable restarts")
    up.wait_for(r"chat\[0\] \| done")
    parsed = [m.groups() for line in up.lines if (m := LINE.match(line))]
    assert ("chat", "0", "|", "line 0") in parsed
    assert ("chat", "0", "!", "err 0") in parsed  # stderr marked
    assert sum(1 for g in parsed if g[0] == "crash") == 3
    lifecycle = [m.groups() for line in up.lines if (m := LIFECYCLE.match(line))]
    assert any(msg.startswith("started (pid ") for name, _, msg in lifecycle if name == "crash")
    assert any("exited with code 2" in msg for _, _, msg in lifecycle)
    assert any(msg == "restarting now (exit code 2)" for _, _, msg in lifecycle)
    # every output line is either an app line or a lifecycle line
    assert all(LINE.match(line) or LIFECYCLE.match(line) for line in up.lines)
    children = psutil.Process(up.proc.pid).children(recursive=True)
    up.proc.send_signal(signal.SIGTERM)
    code, err = up.finish()
    assert code == 0
    assert "stopping every app" in err
    assert not [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_json_lines(tmp_path: Path, up_env: dict[str, str], runner: list[Up]) -> None:
    path = eco(
        tmp_path,
        '[[apps]]\nname = "c"\nscript = "APPS/chatty.py"\n'
        'args = ["3", "--exit"]\nautorestart = false\n',
    )
    up = Up([str(path), "--json"], tmp_path, up_env)
    runner.append(up)
    code, _ = up.finish()
    objs = [json.loads(line) for line in up.lines]
    logs = [o for o in objs if o["type"] in ("out", "err")]
    assert [o["message"] for o in logs if o["type"] == "out"] == [
        "line 0",
        "line 1",
        "line 2",
        "done",
    ]
    assert {"timestamp", "type", "app_name", "process_id", "message"} <= set(logs[0])
    assert any(o["type"] == "corral" for o in objs)
    assert code == 0  # auto-exit: every app ended, none errored


def test_second_sigint_kills_at_once(
    tmp_path: Path, up_env: dict[str, str], runner: list[Up]
) -> None:
    body = '[[apps]]\nname = "s"\nscript = "APPS/stubborn.py"\nkill_timeout = 20000\n'
    up = Up([str(eco(tmp_path, body))], tmp_path, up_env)
    runner.append(up)
    up.wait_for(r"s\[0\] \| stubborn")
    children = psutil.Process(up.proc.pid).children(recursive=True)
    assert len(children) == 2
    up.proc.send_signal(signal.SIGINT)
    up.wait_for(r"stopping every app", stderr=True)  # two quick SIGINTs would merge into one
    assert up.proc.poll() is None  # still running: the app ignores SIGINT for 20 s
    t0 = time.monotonic()
    up.proc.send_signal(signal.SIGINT)
    code, _ = up.finish()
    # The app ignores SIGINT for kill_timeout (20 s): ending well before that is "at once",
    # with room for a loaded machine.
    assert time.monotonic() - t0 < 10
    assert code == 130
    assert not [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def up_once(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`corral up --no-ui PATH` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "corral", "up", "--no-ui", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_bad_config_exits_2_before_starting(tmp_path: Path, up_env: dict[str, str]) -> None:
    path = eco(tmp_path, '[[apps]]\nname = "x"\nscript = "APPS/sleeper.py"\nmax_restart = 3\n')
    run = up_once(path, up_env)
    assert run.returncode == 2
    assert "corral.toml" in run.stderr and "'x'" in run.stderr and "max_restart" in run.stderr
    assert "did you mean 'max_restarts'" in run.stderr
    assert run.stdout == ""


def test_missing_script_names_the_path(tmp_path: Path, up_env: dict[str, str]) -> None:
    path = eco(tmp_path, '[[apps]]\nname = "x"\nscript = "nope.py"\n')
    run = up_once(path, up_env)
    assert run.returncode == 2
    assert str(tmp_path / "nope.py") in run.stderr


def test_default_file_and_errored_exit_code(tmp_path: Path, up_env: dict[str, str]) -> None:
    eco(tmp_path, '[[apps]]\nname = "x"\nscript = "APPS/crasher.py"\nmax_restarts = 1\n')
    run = subprocess.run(
        [sys.executable, "-m", "corral", "up", "--no-ui"],
        cwd=tmp_path,
        env=up_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 1  # auto-exit with an errored app
    assert "errored" in run.stdout


def test_a_reader_that_leaves_does_not_orphan_the_apps(
    tmp_path: Path, up_env: dict[str, str]
) -> None:
    """`corral up --no-ui | head`: output stops, supervision goes on, a stop still stops."""
    up = subprocess.Popen(
        [sys.executable, "-m", "corral", "up", "--no-ui", str(eco(tmp_path, TWO_APPS))],
        env=up_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert up.stdout is not None
        for _ in range(3):
            up.stdout.readline()
        children = psutil.Process(up.pid).children(recursive=True)
        up.stdout.close()  # the reader leaves; the next lines hit a broken pipe
        done = Path(up_env["CORRAL_HOME"], "logs", "chat-out.log")
        deadline = time.monotonic() + 15
        while b"done" not in (done.read_bytes() if done.exists() else b""):
            assert time.monotonic() < deadline, "chat never finished"
            time.sleep(0.05)  # polling a file with a deadline
        assert up.poll() is None  # still supervising
        up.send_signal(signal.SIGINT)
        assert up.wait(15) == 0
        assert not [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


@pytest.mark.parametrize("verb", [["up", str(APPS.parent.parent / "config/demo.toml")], ["monit"]])
def test_unknown_theme_exits_2_with_a_message(verb: list[str], home: Path) -> None:
    """`--theme nosuchtheme` names the theme and the choices; no Textual traceback."""
    run = subprocess.run(
        [sys.executable, "-m", "corral", *verb, "--theme", "nosuchtheme"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2
    assert "'nosuchtheme': no such theme" in run.stderr and "textual-light" in run.stderr
    assert "Traceback" not in run.stderr


def test_port_in_use_is_one_line_and_exit_1(tmp_path: Path, home: Path) -> None:
    """`up --no-ui` whose app cannot bind its port says so in one line, exit 1."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "corral.toml"
        config.write_text(
            f'[[apps]]\nname = "web"\nscript = "{APPS / "httpd.py"}"\n'
            f'exec_mode = "cluster"\nlisten = "127.0.0.1:{port}"\n'
        )
        run = subprocess.run(
            [sys.executable, "-m", "corral", "up", "--no-ui", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("corral: could not start: app 'web'") and "in use" in line
