"""Provides LogFiles: the engine sink that writes every app's lines to its log files.

PM2's file names (`NAME-out.log`, `NAME-error.log`, `-ID` per instance unless merged),
its `log_date_format`/`time` prefixes and its `log_type = "json"` objects. The engine owns
every file handle, so rotation is rename-then-reopen between two writes: no line is lost
or written twice (pm2-logrotate copies then truncates, losing what comes in between).
Each batch of lines read together is one `write` call.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from corral.config.spec import AppSpec
from corral.engine.datefmt import PM2_TIME_FORMAT, Formatter, compile_format
from corral.engine.events import Event, LogLines, Removed, StateChanged

DEV_NULL = "/dev/null"
LOG_FILE_DEFAULT = "true"
"""How config spells `log_file = true`: `NAME.log` in the logs folder."""
ROTATED_STAMP = "%Y-%m-%d_%H-%M-%S"


@dataclass(frozen=True, slots=True)
class Rotation:
    """When and how log files rotate (pm2-logrotate's defaults)."""

    max_size: int = 10 * 1024 * 1024
    retain: int = 30
    compress: bool = False
    interval: str | None = "0 0 * * *"


@dataclass(frozen=True, slots=True)
class LogPaths:
    """Where one process's lines go; None means that stream is not written."""

    out: str | None
    err: str | None
    combined: str | None


def sanitise(name: str) -> str:
    """PM2's file-name rule: anything but letters, digits, `.` and `-` becomes `-`."""
    return re.sub(r"[^a-zA-Z0-9.\-]", "-", name)


def merged(spec: AppSpec) -> bool:
    """PM2's default: one set of files per app when it has one instance."""
    return spec.merge_logs if spec.merge_logs is not None else spec.instances <= 1


def log_paths(spec: AppSpec, pm_id: int, home: str) -> LogPaths:
    """The files of process PM_ID of SPEC, as PM2 names them."""
    base = os.path.join(home, "logs", sanitise(spec.name))
    suffix = None if merged(spec) else pm_id

    def pick(custom: str | None, default: str | None) -> str | None:
        path = custom if custom is not None else default
        if path is None or path == DEV_NULL:
            return None
        if custom == LOG_FILE_DEFAULT:
            path = default
        if path is None:
            return None
        if suffix is None:
            return path
        return f"{path[:-4]}-{suffix}.log" if path.endswith(".log") else f"{path}-{suffix}"

    combined = pick(spec.log_file, f"{base}.log") if spec.log_file else None
    return LogPaths(
        pick(spec.out_file, f"{base}-out.log"), pick(spec.error_file, f"{base}-error.log"), combined
    )


def rotation_for(spec: AppSpec, defaults: Rotation) -> Rotation:
    """DEFAULTS with SPEC's own log_* settings laid over them."""
    return Rotation(
        spec.log_max_size if spec.log_max_size is not None else defaults.max_size,
        spec.log_retain if spec.log_retain is not None else defaults.retain,
        spec.log_compress if spec.log_compress is not None else defaults.compress,
        spec.log_rotate_interval if spec.log_rotate_interval is not None else defaults.interval,
    )


def rotated_files(path: str) -> list[str]:
    """Rotated siblings of PATH, oldest first (their names sort by time)."""
    folder, stem = os.path.split(path[:-4] if path.endswith(".log") else path)
    prefix = f"{stem}__"
    try:
        names = [n for n in os.listdir(folder or ".") if n.startswith(prefix)]
    except OSError:
        return []
    return [os.path.join(folder, n) for n in sorted(names)]


class LogFile:
    """One open log file, shared by every process that writes to the same path."""

    def __init__(self, path: str, rotation: Rotation, warn: Callable[[str], None]) -> None:
        self.path = path
        self.rotation = rotation
        self.refs = 0
        self._warn = warn
        self._fd = -1
        self._size = 0
        self._next_rotation: float | None = None
        self._failed = False
        self.open()

    def open(self) -> None:
        """Open (or create) the file for appending; folders are created as needed."""
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            self._fd = os.open(
                self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640
            )
            self._size = os.fstat(self._fd).st_size
            self._failed = False
        except OSError as exc:
            self._fd = -1
            self._report(f"cannot open log file {self.path}: {exc}")
        self._next_rotation = _next_time(self.rotation.interval)

    def close(self) -> None:
        """Close the handle (idempotent)."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = -1

    def write(self, data: bytes) -> None:
        """Append DATA whole, then rotate if the file grew past its limit or its time came."""
        if self._fd < 0:
            self.open()
            if self._fd < 0:
                return
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            self._report(f"cannot write log file {self.path}: {exc}")
            return
        self._size += len(data)
        due = self._next_rotation is not None and time.time() >= self._next_rotation
        if self._size >= self.rotation.max_size or due:
            self.rotate()

    def rotate(self) -> None:
        """Rename the file aside, reopen a fresh one, prune and compress old ones."""
        if self._size == 0:
            self._next_rotation = _next_time(self.rotation.interval)
            return
        self.close()
        target = rotated_name(self.path)
        try:
            os.rename(self.path, target)
        except OSError as exc:
            self._report(f"cannot rotate {self.path}: {exc}")
            target = ""
        self.open()
        keep = max(0, self.rotation.retain)
        if target and self.rotation.compress:
            threading.Thread(
                target=_compress_then_prune, args=(target, self.path, keep), daemon=True
            ).start()
        else:
            prune(self.path, keep)

    def truncate(self) -> None:
        """Empty the file (`corral flush`)."""
        with contextlib.suppress(OSError):
            os.truncate(self.path, 0)
        self._size = 0

    def _report(self, message: str) -> None:
        if not self._failed:
            self._failed = True
            self._warn(message)


@dataclass(slots=True)
class _Route:
    spec: AppSpec
    out: LogFile | None
    err: LogFile | None
    combined: LogFile | None
    stamp: Formatter | None
    json: bool

    def files(self) -> list[LogFile]:
        return [f for f in (self.out, self.err, self.combined) if f is not None]


class LogFiles:
    """The sink: routes each LogLines event to its process's files."""

    def __init__(
        self, home: str, defaults: Rotation | None = None, warn: Callable[[str], None] | None = None
    ) -> None:
        self.home = home
        self.defaults = defaults or Rotation()
        self._warn = warn or (lambda _msg: None)
        self._files: dict[str, LogFile] = {}
        self._routes: dict[int, _Route] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, LogLines):
            route = self._routes.get(event.id)
            if route is not None:
                self._write(route, event)
        elif isinstance(event, StateChanged):
            spec = event.info.spec
            route = self._routes.get(event.info.id)
            if spec is not None and (route is None or route.spec is not spec):
                self._route(event.info.id, spec)
        elif isinstance(event, Removed):
            self._unroute(event.id)

    def paths(self, pm_id: int) -> LogPaths | None:
        """Where process PM_ID's lines go (None if unknown)."""
        route = self._routes.get(pm_id)
        return log_paths(route.spec, pm_id, self.home) if route else None

    def reopen(self) -> None:
        """Close and reopen every file (`reloadLogs`, after an external logrotate)."""
        for log in self._files.values():
            log.close()
            log.open()

    def truncate(self, pm_ids: list[int]) -> None:
        """Empty the files of PM_IDS (`flush`)."""
        for pm_id in pm_ids:
            route = self._routes.get(pm_id)
            for log in route.files() if route else []:
                log.truncate()

    def close(self) -> None:
        """Close every file."""
        for log in self._files.values():
            log.close()
        self._files.clear()
        self._routes.clear()

    def _write(self, route: _Route, event: LogLines) -> None:
        if route.json:
            when = _iso(event.ts)
            data = b"".join(
                json.dumps(
                    {
                        "message": text,
                        "timestamp": route.stamp(event.ts) if route.stamp else when,
                        "type": event.stream,
                        "process_id": event.id,
                        "app_name": event.name,
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),  # compact as PM2's, so `grep '"type":"err"'` works
                ).encode()
                + b"\n"
                for text in event.texts()
            )
        elif route.stamp is not None:
            prefix = (route.stamp(event.ts) + ": ").encode()
            data = prefix + event.block.replace(b"\n", b"\n" + prefix) + b"\n"
        else:
            data = event.block + b"\n"
        target = route.out if event.stream == "out" else route.err
        if target is not None:
            target.write(data)
        if route.combined is not None:
            route.combined.write(data)

    def _route(self, pm_id: int, spec: AppSpec) -> None:
        self._unroute(pm_id)
        paths = log_paths(spec, pm_id, self.home)
        rotation = rotation_for(spec, self.defaults)
        fmt = spec.log_date_format or (PM2_TIME_FORMAT if spec.time else None)
        self._routes[pm_id] = _Route(
            spec,
            self._acquire(paths.out, rotation),
            self._acquire(paths.err, rotation),
            self._acquire(paths.combined, rotation),
            compile_format(fmt) if fmt else None,
            spec.log_type == "json",
        )

    def _unroute(self, pm_id: int) -> None:
        route = self._routes.pop(pm_id, None)
        for log in route.files() if route else []:
            log.refs -= 1
            if log.refs <= 0:
                log.close()
                self._files.pop(log.path, None)

    def _acquire(self, path: str | None, rotation: Rotation) -> LogFile | None:
        if path is None:
            return None
        log = self._files.get(path)
        if log is None:
            log = self._files[path] = LogFile(path, rotation, self._warn)
        log.refs += 1
        return log


def _iso(ts: float) -> str:
    local = time.localtime(ts)
    offset = time.strftime("%z", local)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", local)
        + f".{int(ts * 1000) % 1000:03d}{offset[:3]}:{offset[3:]}"
    )


def rotated_name(path: str) -> str:
    """A name for the rotated file that sorts after every earlier one, whatever the clock."""
    stem = path[:-4] if path.endswith(".log") else path
    now = time.time()
    base = (
        f"{stem}__{time.strftime(ROTATED_STAMP, time.localtime(now))}-{int(now * 1000) % 1000:03d}"
    )
    existing = rotated_files(path)
    newest = os.path.basename(existing[-1]).removesuffix(".gz") if existing else ""
    candidate, n = f"{base}.log", 0
    # A counter after '_' sorts after the plain name ('.' < '_'), and after any newest name.
    while os.path.basename(candidate) <= newest or os.path.exists(candidate):
        n += 1
        candidate = f"{base}_{n:03d}.log"
    return candidate


def prune(path: str, keep: int) -> None:
    """Delete the oldest rotated siblings of PATH beyond KEEP."""
    old = rotated_files(path)
    for victim in old[: max(0, len(old) - keep)]:
        with contextlib.suppress(OSError):
            os.unlink(victim)


def _compress_then_prune(rotated: str, path: str, keep: int) -> None:
    """gzip a rotated file off the hot path (a thread), then prune."""
    try:
        with (
            open(rotated, "rb") as src,
            gzip.open(rotated + ".gz.tmp", "wb", compresslevel=6) as dst,
        ):
            shutil.copyfileobj(src, dst, 1024 * 1024)
        os.rename(rotated + ".gz.tmp", rotated + ".gz")
        os.unlink(rotated)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(rotated + ".gz.tmp")
    prune(path, keep)


def _next_time(expression: str | None) -> float | None:
    """The next time EXPRESSION fires, or None (no interval, or no cron library)."""
    if not expression:
        return None
    try:
        from croniter import croniter  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return None
    fields = expression.split()
    try:
        it = croniter(expression, time.time(), second_at_beginning=len(fields) == 6)
        return float(it.get_next(float))
    except (ValueError, KeyError):
        return None
