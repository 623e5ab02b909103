"""`corral monit`: the text mode end to end against a daemon, and its formatting."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

from corral.cli.monit import TextWatch
from corral.cli.printer import EventPrinter
from corral.daemon.aclient import AsyncClient
from tests.helpers import app as spec
from tests.tui.scripted import T0, demo_events


def test_text_watch_formats_logs_states_and_metrics() -> None:
    """Logs as `up --no-ui` prints them, a line per state change, metrics on demand."""
    out = io.StringIO()
    watch = TextWatch(EventPrinter(out, colour=False))
    for event in demo_events(samples=2):
        watch(event)
    text = out.getvalue()
    assert "[state] flaky[3] is errored" in text
    assert "worker[2] ! job 42: retrying a slow upstream" in text
    lines = watch.metrics_lines(T0 + 3725)
    assert len(lines) == 5
    assert any("[metrics] leaker[4] online cpu" in line and "restarts 3" in line for line in lines)
    assert any("[metrics] flaky[3] errored cpu - mem -" in line for line in lines)


def test_corral_monit_no_ui_against_a_daemon(daemon: AsyncClient) -> None:
    """`corral monit --no-ui --interval 0.3` prints states, logs and metrics, piped."""
    import asyncio

    asyncio.run(daemon.add([spec("chatty.py", "talker", args=("5",))]))
    env = dict(os.environ, CORRAL_HOME=daemon.where.root, NO_COLOR="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "corral", "monit", "--no-ui", "--interval", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen: list[str] = []
    deadline = time.monotonic() + 20
    assert proc.stdout is not None
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(line)
            if any("[metrics] talker[0] online" in x for x in seen):
                break
    finally:
        proc.terminate()
        proc.wait(10)
    text = "".join(seen)
    assert "[state] talker[0] is online" in text
    assert "[metrics] talker[0] online" in text


def test_corral_monit_ui_refuses_a_pipe() -> None:
    """Without a terminal the UI says to use --no-ui (exit 2) rather than draw into a pipe."""
    run = subprocess.run(
        [sys.executable, "-m", "corral", "monit"], capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 2
    assert "--no-ui" in run.stderr


def test_monit_text_mode_loads_no_ui() -> None:
    """`corral monit --no-ui` is for dumb terminals: its module never imports Textual."""
    probe = "import sys, corral.cli.monit; print(*sys.modules)"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert {"textual", "rich"}.isdisjoint(run.stdout.split())
