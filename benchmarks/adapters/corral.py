"""Provides the corral adapter: the daemon CLI when it exists, else `up --no-ui`.

The CLI is timed as a user runs it: the `corral` console script beside this Python.
Until the daemon verbs exist, the foreground engine (`corral up FILE --no-ui`, the same
engine the daemon hosts) stands in for start/stop/state, and the scenarios that need a
daemon (CLI latency, daemon footprint) report corral as not available.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.adapters.base import (
    AppDef,
    Probe,
    ProcView,
    Session,
    Tool,
    base_env,
    pm2_fields,
)
from benchmarks.procs import Tracker, wait_until

STOP_WAIT_S = 30.0


def corral_launcher() -> list[str]:
    """The console script of this venv, else one on PATH, else `python -m corral`."""
    beside = Path(sys.executable).parent / "corral"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("corral")
    return [found] if found else [sys.executable, "-m", "corral"]


def _toml_value(value: object) -> str:
    """A TOML literal for the few types an ecosystem here needs."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(f"no TOML form for {value!r}")


def ecosystem_toml(apps: list[AppDef]) -> str:
    """APPS as corral's native TOML ecosystem, PM2's attribute names."""
    blocks = []
    for app in apps:
        fields = pm2_fields(app)
        if app.listen is not None:
            fields["listen"] = app.listen
        lines = ["[[apps]]", *(f"{k} = {_toml_value(v)}" for k, v in fields.items())]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


class CorralSession(Session):
    """corral's daemon CLI with CORRAL_HOME set to the session's home."""

    home_var = "CORRAL_HOME"

    def start(self, ecosystem: Path) -> None:
        # --no-wait: return as pm2's start does; the scenarios watch the apps themselves
        # (and a crashing app, which `start` would now report with exit 1, is the point
        # of some of them).
        self.run("start", str(ecosystem), "--no-wait")

    def write_ecosystem(self, apps: list[AppDef], folder: Path) -> Path:
        path = folder / "ecosystem.toml"
        path.write_text(ecosystem_toml(apps))
        return path

    def daemon_pid(self) -> int | None:
        try:
            return int((self.home / "daemon.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def jlist(self) -> list[ProcView]:
        out = self.run("jlist").stdout
        views = [
            ProcView(
                name=str(entry.get("name")),
                status=str(entry.get("status")),
                pid=int(entry["pid"]) if entry.get("pid") else None,
                restarts=int(entry.get("restarts") or 0),
            )
            for entry in json.loads(out or "[]")
        ]
        self.tracker.add_all(v.pid for v in views)
        return views

    def monitor_probe(self, other_app: str) -> Probe:
        return Probe(ready=other_app, key="?", shows="corral · keys", back="Escape")

    def shutdown(self) -> None:
        self.run("kill", check=False)


class ForegroundSession(CorralSession):
    """`corral up FILE --no-ui` standing in for the daemon (start, stop all, final state).

    `stop` ends the whole foreground run (SIGTERM), which is what stopping the only app
    of an ecosystem amounts to; the state is read from the exit code after auto-exit
    (1: an app errored, 0: every app stopped).
    """

    standin = "`corral up FILE --no-ui` (no daemon CLI yet)"

    def __init__(self, home: Path, tracker: Tracker, launcher: list[str]) -> None:
        super().__init__(home, tracker, launcher)
        self.proc: subprocess.Popen[bytes] | None = None

    def boot(self) -> None:
        """Nothing to boot: the engine starts with `up`."""

    def start(self, ecosystem: Path) -> None:
        self.proc = subprocess.Popen(
            self.command("up", str(ecosystem), "--no-ui"),
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.tracker.add(self.proc.pid)
        self.tracker.add_group(self.proc.pid)

    def stop(self, name: str) -> None:
        if self.proc is None:
            return
        self.tracker.add_tree(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=STOP_WAIT_S)

    def daemon_pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def jlist(self) -> list[ProcView]:
        if self.proc is None:
            return []
        try:
            wait_until(lambda: self.proc is not None and self.proc.poll() is not None, 5, "up")
        except TimeoutError:
            return [ProcView(name="*", status="running (up has not exited)", pid=None, restarts=0)]
        status = {0: "stopped", 1: "errored"}.get(
            self.proc.returncode, f"exit {self.proc.returncode}"
        )
        return [ProcView(name="*", status=status, pid=None, restarts=0)]

    def shutdown(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.tracker.add_tree(self.proc.pid)
            self.proc.send_signal(signal.SIGINT)
            self.proc.send_signal(signal.SIGINT)  # the second one kills at once
            try:
                self.proc.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Corral(Tool):
    """corral from this venv; probes once whether the daemon verbs exist yet."""

    name = "corral"

    def __init__(self, launcher: list[str] | None = None) -> None:
        self.launcher = launcher or corral_launcher()
        self._daemon: bool | None = None

    def warm_bytecode(self) -> str:
        """Cache corral's bytecode at both levels its processes use (the CLI plain, the
        daemon `-OO`), as a user's first runs do; this runner may have
        PYTHONDONTWRITEBYTECODE set, and without the `-OO` cache the daemon runs
        unoptimised (corral.daemon.launch.optimize_flags). Returns a note for the report."""
        import corral

        package = os.path.dirname(corral.__file__)
        for flags in ([], ["-OO"]):
            subprocess.run(
                [sys.executable, *flags, "-m", "compileall", "-q", package],
                stdout=subprocess.DEVNULL,
                check=False,
            )
        return (
            "corral's bytecode was cached at both levels before the run (`python -m "
            "compileall` and `python -OO -m compileall`), as a first start would on a "
            "writable install, so its daemon runs with `-OO` as it does for users."
        )

    def has_daemon(self) -> bool:
        """True when `corral ping` works (it is run in a throwaway home, then `kill`ed)."""
        if self._daemon is None:
            with tempfile.TemporaryDirectory(prefix="corral-probe-") as home:
                env = dict(base_env(), CORRAL_HOME=os.path.join(home, "h"))
                tracker = Tracker()
                session = CorralSession(Path(env["CORRAL_HOME"]), tracker, self.launcher)
                try:
                    proc = session.run("ping", check=False)
                    self._daemon = proc.returncode == 0
                finally:
                    session.close()
        return self._daemon

    def unavailable(self) -> str | None:
        try:
            subprocess.run(
                [*self.launcher, "--version"], capture_output=True, check=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return f"corral does not run: {exc}"
        return None

    def version(self) -> str:
        proc = subprocess.run(
            [*self.launcher, "--version"], capture_output=True, text=True, check=False, timeout=30
        )
        mode = "daemon CLI" if self.has_daemon() else "foreground `up --no-ui` (no daemon yet)"
        version = proc.stdout.strip().removeprefix("corral ")
        return f"{version} ({mode}, run as `{' '.join(self.launcher)}`)"

    def open(self, home: Path, tracker: Tracker) -> Session:
        if self.has_daemon():
            return CorralSession(home, tracker, self.launcher)
        return ForegroundSession(home, tracker, self.launcher)

    def daemon_missing(self) -> str | None:
        if self.has_daemon():
            return None
        return "no daemon CLI in this build"
