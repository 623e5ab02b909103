"""Provides the supervisord adapter: finds or installs supervisor, maps AppDefs to programs.

supervisord has no ecosystem file for `start` and no JSON status, so the adapter
translates: an ecosystem becomes an include file of `[program:NAME]` sections that
`start` copies into the session's `conf.d/` before `supervisorctl update` (which adds
the programs and spawns them, as `pm2 start FILE` does), and `jlist`/`list` both become
`supervisorctl status`, its one status verb, parsed into PM2's status words.

The mapping of PM2's knobs, and what has no equivalent:

- `interpreter script args` → `command` (shell-quoted; supervisord splits it itself);
  `instances` → `numprocs` with `process_name=%(program_name)s-%(process_num)d`.
- `autorestart` → `autorestart` (true/false); `min_uptime` → `startsecs` (a run shorter
  than that is a failed start, PM2's "unstable restart"); `max_restarts` →
  `startretries`. `restart_delay` has none: supervisord backs off 1, 2, 3 … s itself.
- `kill_timeout` → `stopwaitsecs`, rounded *up* to whole seconds (supervisord takes no
  fractions, and killing earlier than asked would flatter it).
- `stopsignal=INT`: PM2's and corral's default kill signal, instead of supervisord's TERM.
- `stopasgroup`/`killasgroup=true`: the signals go to the program's process group, as
  PM2 and corral kill the whole tree; supervisord's default (false) signals only the
  direct child, and a forked grandchild outlives the stop.
- `time` (timestamps), `max_memory_restart` and `listen` have no equivalent: asking for
  them raises ToolUnavailable, so the cell says why instead of measuring something else.
"""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from benchmarks.adapters.base import (
    AppDef,
    ProcView,
    Session,
    Tool,
    ToolUnavailable,
)
from benchmarks.procs import Tracker, pid_alive, wait_until

CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "corral-bench" / "supervisor"
)
"""Where a pip-installed supervisor venv is kept between runs."""
PIP_TIMEOUT_S = 300
BOOT_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 60.0
SOCKET_MAX = 100
"""A unix socket path longer than this (the kernel's limit is 107 bytes) moves to /tmp."""

VERBS: dict[str, tuple[str, ...]] = {
    "jlist": ("status",),
    "list": ("status",),
    "ping": ("pid",),
    "kill": ("shutdown",),
}
"""PM2 verbs the scenarios use, as supervisorctl spells them (one status verb for both)."""

STATES = {
    "RUNNING": "online",
    "STARTING": "launching",
    "BACKOFF": "waiting restart",
    "STOPPING": "stopping",
    "STOPPED": "stopped",
    "EXITED": "stopped",
    "FATAL": "errored",
}
"""supervisord's states in PM2's words, which the scenarios and the report compare."""


def _site_packages(venv: Path) -> list[Path]:
    """The site-packages folders of the venv at VENV."""
    return sorted(venv.glob("lib/python*/site-packages"))


def _venv_ready(venv: Path) -> bool:
    """True when VENV has a Python that can import supervisor (checked on disk only)."""
    return (venv / "bin" / "python").exists() and any(
        (site / "supervisor" / "supervisorctl.py").is_file() for site in _site_packages(venv)
    )


def _launchers(venv: Path) -> tuple[list[str], list[str]]:
    """(supervisorctl, supervisord) argv prefixes in VENV.

    `python -m`, not the console scripts: their shebangs name the staging folder the
    venv was built in, which is renamed into place afterwards.
    """
    python = str(venv / "bin" / "python")
    return [python, "-m", "supervisor.supervisorctl"], [python, "-m", "supervisor.supervisord"]


def find_or_install(install: bool = True) -> tuple[tuple[list[str], list[str]] | None, str]:
    """The (supervisorctl, supervisord) launchers and how they were found, or why not.

    Order: both on PATH, the cached venv, then a new venv with `pip install supervisor`
    built in a staging folder that is renamed into the cache once complete (so an
    interrupted install never looks usable).
    """
    ctl, daemon = shutil.which("supervisorctl"), shutil.which("supervisord")
    if ctl and daemon:
        return ([ctl], [daemon]), "supervisord on PATH"
    if _venv_ready(CACHE):
        return _launchers(CACHE), f"cached venv in {CACHE}"
    if not install:
        return None, "supervisord is not installed and installing was disabled"
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="supervisor-install-", dir=CACHE.parent))
    try:
        pip = [str(staging / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        for argv in (
            [sys.executable, "-m", "venv", str(staging)],
            [*pip, "--no-input", "--disable-pip-version-check", "supervisor"],
        ):
            subprocess.run(
                argv,
                check=True,
                capture_output=True,
                timeout=PIP_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        if not _venv_ready(staging):
            raise OSError("supervisor is not importable after pip install")
        if CACHE.exists():
            shutil.rmtree(CACHE)
        staging.rename(CACHE)
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if _venv_ready(CACHE):  # another run finished the same install meanwhile
            return _launchers(CACHE), f"cached venv in {CACHE}"
        return None, f"pip install supervisor failed ({_why(exc)}): supervisord column skipped"
    return _launchers(CACHE), f"installed from PyPI into a venv in {CACHE}"


def _why(exc: BaseException) -> str:
    """One line on a failed install step: the tail of its stderr when it has one."""
    if isinstance(exc, subprocess.CalledProcessError) and exc.stderr:
        lines = exc.stderr.decode(errors="replace").strip().splitlines()
        return lines[-1][-200:] if lines else str(exc)
    return str(exc)


def package_version(ctl: list[str]) -> str | None:
    """supervisor's version from the metadata of the venv CTL lives in (nothing is run);
    None when CTL is not in a venv (a system install), whose interpreter is unknown."""
    venv = Path(ctl[0]).parent.parent
    for dist in metadata.distributions(path=[str(p) for p in _site_packages(venv)]):
        if (dist.metadata["Name"] or "").lower() == "supervisor":
            return dist.version
    return None


def _literal(text: str) -> str:
    """TEXT as a supervisord config value: `%` doubled, as the config expands `%(name)s`."""
    return text.replace("%", "%%")


def _env_value(value: str) -> str:
    """VALUE as supervisord's `environment=` reads it, `%` doubled.

    Its parser is a non-POSIX shlex: quotes group but nothing escapes, and it strips
    quote characters off both ends; a value it cannot hold is refused, not mangled.
    """
    quote = "'" if '"' in value else '"'
    if quote in value or "\n" in value or value[-1:] in ("'", '"'):
        raise ToolUnavailable(f"its environment= cannot hold the value {value!r}")
    return quote + _literal(value) + quote


def program_section(app: AppDef, logs: Path, folder: Path) -> str:
    """APP as one `[program:NAME]` section (see the module docstring for the mapping)."""
    if app.time:
        raise ToolUnavailable("cannot timestamp log lines")
    if app.max_memory_restart:
        raise ToolUnavailable("no memory limit (superlance's memmon is a plugin)")
    if app.listen is not None:
        raise ToolUnavailable("no listening socket shared by a program's processes")
    fields: dict[str, object] = {
        "command": _literal(shlex.join([app.interpreter, str(app.script), *app.args])),
        "directory": _literal(str(folder)),
        "numprocs": app.instances,
        "process_name": "%(program_name)s-%(process_num)d"
        if app.instances > 1
        else "%(program_name)s",
        "autostart": "true",
        "autorestart": "true" if app.autorestart else "false",
        "startsecs": math.ceil(app.min_uptime / 1000),
        "startretries": app.max_restarts,
        "stopsignal": "INT",
        "stopwaitsecs": math.ceil(app.kill_timeout / 1000),
        "stopasgroup": "true",
        "killasgroup": "true",
        "stdout_logfile": _literal(str(logs / f"{app.name}-out.log")),
        "stdout_logfile_maxbytes": 0,
        "stderr_logfile": _literal(str(logs / f"{app.name}-error.log")),
        "stderr_logfile_maxbytes": 0,
    }
    if app.env:
        fields["environment"] = ",".join(f"{k}={_env_value(v)}" for k, v in app.env.items())
    lines = [f"[program:{app.name}]", *(f"{k}={v}" for k, v in fields.items())]
    return "\n".join(lines) + "\n"


def parse_status(text: str) -> list[ProcView]:
    """The lines of `supervisorctl status` as ProcViews, states in PM2's words.

    A process `NAME:NAME-3` of a program with several is reported as NAME, as pm2's
    jlist names every instance after its app; other lines (errors) are skipped.
    """
    views = []
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) < 2 or parts[1] not in (*STATES, "UNKNOWN"):
            continue
        detail = parts[2] if len(parts) > 2 else ""
        pid = None
        if detail.startswith("pid "):
            with contextlib.suppress(ValueError):
                pid = int(detail[4:].split(",")[0])
        views.append(
            ProcView(
                name=parts[0].split(":")[0],
                status=STATES.get(parts[1], parts[1].lower()),
                pid=pid,
                restarts=0,  # supervisord does not count restarts
            )
        )
    return views


class SupervisordSession(Session):
    """supervisord with its config, socket, pid file and logs in the session's home.

    There is no home variable (`home_var` stays empty): every supervisorctl call gets
    `-c HOME/supervisord.conf` instead.
    """

    def __init__(
        self, home: Path, tracker: Tracker, launcher: list[str], daemon: list[str]
    ) -> None:
        super().__init__(home, tracker, launcher)
        self.daemon = daemon
        """The argv prefix that runs supervisord."""
        self.conf = home / "supervisord.conf"
        self.pidfile = home / "supervisord.pid"
        self.groups: set[str] = set()
        """Programs with more than one process, stopped as `NAME:*`."""
        self._socket_dir: Path | None = None
        home.mkdir(parents=True, exist_ok=True)
        (home / "logs").mkdir(exist_ok=True)
        (home / "conf.d").mkdir(exist_ok=True)
        self.conf.write_text(self._main_conf())

    def _socket(self) -> Path:
        """HOME/supervisor.sock, or a short folder in /tmp when HOME is too deep for one."""
        path = self.home / "supervisor.sock"
        if len(str(path)) <= SOCKET_MAX:
            return path
        self._socket_dir = Path(tempfile.mkdtemp(prefix="corral-sd-", dir="/tmp"))
        return self._socket_dir / "supervisor.sock"

    def _main_conf(self) -> str:
        """supervisord.conf: socket, daemon files and the include of `start`ed programs."""
        sock, home = _literal(str(self._socket())), _literal(str(self.home))
        return "\n".join(
            [
                "[unix_http_server]",
                f"file={sock}",
                "chmod=0700",
                "",
                "[supervisord]",
                f"logfile={home}/supervisord.log",
                f"pidfile={home}/{self.pidfile.name}",
                f"childlogdir={home}/logs",
                f"directory={home}",
                "",
                "[rpcinterface:supervisor]",
                "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
                "",
                "[supervisorctl]",
                f"serverurl=unix://{sock}",
                "",
                "[include]",
                f"files = {home}/conf.d/*.conf",
                "",
            ]
        )

    def command(self, *verb: str) -> list[str]:
        """supervisorctl with this session's config; PM2 verbs translated (see VERBS)."""
        if verb and verb[0] in VERBS:
            verb = (*VERBS[verb[0]], *verb[1:])
        return [*self.launcher, "-c", str(self.conf), *verb]

    def write_ecosystem(self, apps: list[AppDef], folder: Path) -> Path:
        """APPS as an include file of programs in FOLDER; `start` puts it in conf.d."""
        logs = self.home / "logs"
        text = "\n".join(program_section(app, logs, folder) for app in apps)
        self.groups |= {app.name for app in apps if app.instances > 1}
        path = folder / "supervisord-programs.conf"
        path.write_text(text)
        return path

    def daemon_pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def boot(self) -> None:
        """Start supervisord (it daemonises) and return once `supervisorctl pid` answers."""
        proc = subprocess.run(
            [*self.daemon, "-c", str(self.conf)],
            env=self.env(),
            check=False,
            capture_output=True,
            text=True,
            timeout=BOOT_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            said = (proc.stdout + proc.stderr).strip()[-400:]
            raise RuntimeError(f"supervisord exited {proc.returncode}: {said}")
        # The pid file is written after the fork; polling it costs supervisord nothing.
        wait_until(lambda: self.daemon_pid() is not None, BOOT_TIMEOUT_S, "supervisord.pid")
        self.track_daemon()
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while self.run("pid", check=False).stdout.strip() != str(self.daemon_pid()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"supervisorctl pid: no answer within {BOOT_TIMEOUT_S:.0f} s")

    def start(self, ecosystem: Path) -> None:
        """Put ECOSYSTEM in conf.d and `update`: supervisord adds and spawns its programs.

        Like `pm2 start FILE`, it returns once the programs are added, without waiting
        out `startsecs` as `supervisorctl start` would.
        """
        shutil.copyfile(ecosystem, self.home / "conf.d" / ecosystem.name)
        proc = self.run("update", check=False)  # it reports errors on stdout
        if proc.returncode != 0 or "ERROR" in proc.stdout:
            said = (proc.stdout + proc.stderr).strip()[-400:]
            raise RuntimeError(f"supervisorctl update exited {proc.returncode}: {said}")

    def stop(self, name: str) -> None:
        """`supervisorctl stop NAME` (`NAME:*` for a program with several processes)."""
        self.run("stop", f"{name}:*" if name in self.groups else name, check=False)

    def jlist(self) -> list[ProcView]:
        """`supervisorctl status`, parsed (it exits 3 when a program is not running)."""
        views = parse_status(self.run("status", check=False).stdout)
        self.tracker.add_all(v.pid for v in views)
        return views

    def shutdown(self) -> None:
        """`supervisorctl shutdown`, then wait for the daemon to exit.

        shutdown returns at once and supervisord stops its programs afterwards
        (`stopwaitsecs` each at worst); without the wait, the runner would kill the
        programs still stopping and count them as left behind.
        """
        pid = self.daemon_pid()
        if pid is None:
            return  # never booted (the scenario was refused before): nothing to ask
        self.run("shutdown", check=False)
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: not pid_alive(pid), SHUTDOWN_TIMEOUT_S, "supervisord exit")

    def close(self) -> list[int]:
        killed = super().close()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
        return killed


class Supervisord(Tool):
    """supervisor from PATH or PyPI, found (and installed if need be) on first use."""

    name = "supervisord"
    out_of_scope = (
        "not compared here (the issue compares supervisord only on CLI status, "
        "footprint, log throughput and stop)"
    )

    def __init__(self, install: bool = True) -> None:
        self._install = install
        self._resolved: tuple[tuple[list[str], list[str]] | None, str] | None = None

    def _launchers(self) -> tuple[tuple[list[str], list[str]] | None, str]:
        if self._resolved is None:
            self._resolved = find_or_install(self._install)
        return self._resolved

    def unavailable(self) -> str | None:
        launchers, how = self._launchers()
        return None if launchers else how

    def version(self) -> str:
        launchers, how = self._launchers()
        if launchers is None:
            return f"n/a ({how})"
        version = package_version(launchers[0])
        if version is None:  # a PATH install: `--version` only prints
            proc = subprocess.run(
                [*launchers[1], "--version"], capture_output=True, text=True, check=False
            )
            version = proc.stdout.strip() or "unknown"
        return f"{version} ({how})"

    def open(self, home: Path, tracker: Tracker) -> Session:
        launchers, how = self._launchers()
        if launchers is None:
            raise RuntimeError(how)
        ctl, daemon = launchers
        return SupervisordSession(home, tracker, ctl, daemon)
