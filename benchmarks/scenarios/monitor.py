"""Scenario 9, monitor: what the terminal monitor costs while 10 apps chat.

`pm2 monit` is known for eating a core with chatty apps; a monitor left open in a tmux
window on a server all day must cost little. Each tool's own `monit` runs in a private
tmux server (120x40), so it draws to a real terminal as a user would see it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time

import psutil

from benchmarks.adapters.base import Session, ToolUnavailable
from benchmarks.procs import wait_until
from benchmarks.scenarios.base import Context, Metric, Result, Scenario
from benchmarks.scenarios.footprint import sample

APPS = 10
RATE = 100
SETTLE_S = 5.0
"""After the monitor drew its first screen: it loads history and warms up first."""
KEY_ROUNDS = 5


class Tmux:
    """One private tmux server, killed as a whole at the end. Its socket is named (`-L`,
    under /tmp/tmux-UID/), not a path in the work folder, which can be longer than a
    Unix socket address holds (pytest's temporary folders are)."""

    def __init__(self) -> None:
        binary = shutil.which("tmux")
        if binary is None:
            raise ToolUnavailable("tmux is not installed")
        self.base = [binary, "-L", f"corral-bench-{os.getpid()}-{secrets.token_hex(4)}"]

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "bench")

    def kill(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=10)


def key_latency(tmux: Tmux, key: str, shows: str, back: str) -> float:
    """Seconds from sending KEY until the screen shows SHOWS; then BACK undoes it."""
    t0 = time.perf_counter()
    tmux("send-keys", "-t", "bench", key)
    wait_until(lambda: shows in tmux.screen(), 10, f"{shows!r} on screen after {key}")
    took = time.perf_counter() - t0
    tmux("send-keys", "-t", "bench", back)
    wait_until(lambda: shows not in tmux.screen(), 10, f"{shows!r} gone after {back}")
    return took


class Monitor(Scenario):
    key = "monitor"
    title = "Monitor"
    apps = (APPS, 2)
    """How many apps chat (full run, quick run)."""
    rate = RATE
    """Lines a second each app writes."""
    needs_daemon = True
    full_rounds = 3
    metrics = (
        Metric("cpu", "monitor: CPU of `monit`, 10 apps × 100 lines/s", "%", "lower", 2),
        Metric("rss", "monitor: RSS of `monit` at the end of the window", "MB", "lower", 1),
        Metric("key", "monitor: key press to screen (median of 5)", "ms", "lower", 0),
    )
    notes = (
        f"{APPS} apps (2 in quick mode) each write one short line {RATE} times a second "
        "(the log trickle's app). Then the tool's `monit` starts in a private tmux server "
        f"at 120x40 (`TERM=xterm-256color`); {SETTLE_S:.0f} s after its first screen, the "
        "CPU of the monitor process (its threads' run time from /proc, as for the daemon "
        "footprint) is measured over 30 s (2 s in quick mode), and its RSS at the end. "
        "Only the monitor process counts, not tmux, not the daemon. corral's monitor "
        "shows every app's log merged, with sparklines and a table; `pm2 monit` shows one "
        "app's log at a time. Key to screen: the time from `tmux send-keys` until "
        "`capture-pane` shows the result (corral: `?` opens the help; pm2: the down "
        "arrow selects the next app, whose name then heads the log panel), polled every "
        "10 ms, so it includes tmux's own delay. Issue targets for corral: ≤ 8 % of a "
        "core, ≤ 60 MiB, key to screen ≤ 100 ms."
    )

    def measure(self, session: Session, ctx: Context) -> Result:
        count = ctx.pick(*self.apps)
        apps = [ctx.app(f"chat{i}", "trickle.py", str(self.rate)) for i in range(count)]
        ecosystem = session.write_ecosystem(apps, ctx.workdir)
        session.boot()
        session.start(ecosystem)

        def written() -> bool:
            paths = [session.log_path(app.name) for app in apps]  # named once they exist
            return all(p.exists() and p.stat().st_size for p in paths)

        wait_until(written, 60, "app logs")
        tmux = Tmux()
        env = session.env()
        env["TERM"] = "xterm-256color"
        exports = [f"{k}={v}" for k, v in env.items() if k in (session.home_var, "TERM", "PATH")]
        argv = ["env", *exports, *session.command("monit")]
        try:
            tmux("new-session", "-d", "-s", "bench", "-x", "120", "-y", "40", *argv)
            pane = int(tmux("display-message", "-p", "-t", "bench", "#{pane_pid}").strip())
            session.tracker.add(pane)
            pid = monitor_pid(pane)
            session.tracker.add_tree(pid)
            probe = session.monitor_probe(apps[1].name)  # the second app: one Down away
            wait_until(lambda: probe.ready in tmux.screen(), 60, "the monitor's first screen")
            time.sleep(ctx.pick(SETTLE_S, 1.0))
            rss, cpu = sample(pid, ctx.pick(30, 2))
            keys = sorted(
                key_latency(tmux, probe.key, probe.shows, probe.back)
                for _ in range(ctx.pick(KEY_ROUNDS, 1))
            )
            return {"cpu": cpu, "rss": rss, "key": keys[len(keys) // 2] * 1000}
        finally:
            tmux.kill()


def monitor_pid(pane: int) -> int:
    """The monitor process: the pane's command after `env` exec'd it, or its one child.

    `env` execs in place, but a launcher script (pm2's node shebang, a venv script) may
    run the real monitor as a child; the heaviest descendant is the one drawing.
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            root = psutil.Process(pane)
            if root.name() != "env":
                tree = [root, *root.children(recursive=True)]
                return max(tree, key=lambda p: p.memory_info().rss).pid
        except psutil.Error:
            pass
        time.sleep(0.05)
    raise TimeoutError("the monitor process never started in tmux")


SCENARIO = Monitor()
