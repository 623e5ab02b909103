"""Provides the pm2 adapter: finds or installs pm2, writes JSON ecosystems, reads jlist.

pm2 runs Python apps through `interpreter` in fork mode (it can cluster only Node
apps), so every app gets `exec_mode: "fork"` explicitly, `instances` included.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.adapters.base import AppDef, Probe, ProcView, Session, Tool, pm2_fields
from benchmarks.procs import Tracker

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "corral-bench" / "pm2"
"""Where an npm-installed pm2 is kept between runs (an install takes ~10 s)."""
NPM_TIMEOUT_S = 300


def _package_version(bin_path: Path) -> str | None:
    """pm2's version from its package.json, found from the real path of its launcher.

    `pm2 --version` would spawn a daemon in ~/.pm2 as a side effect, so it is not used.
    """
    for parent in Path(os.path.realpath(bin_path)).parents:
        manifest = parent / "package.json"
        if manifest.is_file():
            with contextlib.suppress(OSError, ValueError):
                data = json.loads(manifest.read_text())
                if data.get("name") == "pm2":
                    return str(data.get("version"))
    return None


def find_or_install(install: bool = True) -> tuple[Path | None, str]:
    """The pm2 launcher to use and how it was found (or why there is none).

    Order: `pm2` on PATH, the cache, then `npm install pm2` in a temporary folder that is
    moved into the cache once complete (so an interrupted install never looks usable).
    """
    on_path = shutil.which("pm2")
    if on_path:
        return Path(on_path), "pm2 on PATH"
    cached = CACHE / "node_modules" / ".bin" / "pm2"
    if cached.exists():
        return cached, f"cached npm install in {CACHE}"
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not available, so pm2 could not be installed: pm2 columns skipped"
    if not install:
        return None, "pm2 is not installed and installing was disabled"
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="pm2-install-", dir=CACHE.parent))
    try:
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "pm2"],
            cwd=staging,
            check=True,
            capture_output=True,
            timeout=NPM_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        if CACHE.exists():
            shutil.rmtree(CACHE)
        staging.rename(CACHE)
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return None, f"npm install pm2 failed ({exc}): pm2 columns skipped"
    return cached, f"installed from npm into {CACHE}"


class Pm2Session(Session):
    """pm2 with PM2_HOME set to the session's home."""

    home_var = "PM2_HOME"

    def write_ecosystem(self, apps: list[AppDef], folder: Path) -> Path:
        entries: list[dict[str, Any]] = [
            {
                **pm2_fields(app),
                "exec_mode": "fork",
                "merge_logs": True,  # logs/NAME-out.log, not NAME-out-ID.log: as corral
            }
            for app in apps
        ]
        path = folder / "ecosystem.json"
        path.write_text(json.dumps({"apps": entries}, indent=2))
        return path

    def daemon_pid(self) -> int | None:
        try:
            return int((self.home / "pm2.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def jlist(self) -> list[ProcView]:
        out = self.run("jlist").stdout
        # pm2 may print notices before the JSON; the array is the last line that opens one.
        text = next((ln for ln in reversed(out.splitlines()) if ln.startswith("[")), "[]")
        views = []
        for entry in json.loads(text):
            env = entry.get("pm2_env") or {}
            views.append(
                ProcView(
                    name=str(entry.get("name")),
                    status=str(env.get("status")),
                    pid=int(entry["pid"]) if entry.get("pid") else None,
                    restarts=int(env.get("restart_time") or 0),
                )
            )
        self.tracker.add_all(v.pid for v in views)
        return views

    def monitor_probe(self, other_app: str) -> Probe:
        return Probe(ready="Process List", key="Down", shows=f"{other_app} Logs", back="Up")

    def shutdown(self) -> None:
        self.run("kill", check=False)


class Pm2(Tool):
    """pm2 from PATH or npm, found (and installed if need be) on first use."""

    name = "pm2"

    def __init__(self, install: bool = True) -> None:
        self._install = install
        self._resolved: tuple[Path | None, str] | None = None

    def _launcher(self) -> tuple[Path | None, str]:
        if self._resolved is None:
            self._resolved = find_or_install(self._install)
        return self._resolved

    def unavailable(self) -> str | None:
        launcher, how = self._launcher()
        return None if launcher else how

    def version(self) -> str:
        launcher, how = self._launcher()
        if launcher is None:
            return f"n/a ({how})"
        return f"{_package_version(launcher) or 'unknown'} ({how})"

    def open(self, home: Path, tracker: Tracker) -> Session:
        launcher, how = self._launcher()
        if launcher is None:
            raise RuntimeError(how)
        return Pm2Session(home, tracker, [str(launcher)])
