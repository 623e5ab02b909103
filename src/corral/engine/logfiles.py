"""Provides LogFiles: the engine sink that writes every app's lines to its log files.

PM2's file names (`NAME-out.log`, `NAME-error.log`, `-ID` per instance unless merged),
its `log_date_format`/`time` prefixes and its `log_type = "json"` objects. The engine owns
every file handle, so rotation is rename-then-reopen between two writes: no line is lost
or written twice (pm2-logrotate copies then truncates, losing what comes in between).
Each batch of lines read together is one `write` call.

The daemon often runs as root and writes where a config says, in folders other users
may write to. So a log file is never reached through a symbolic link: it is opened with
O_NOFOLLOW (a link in its place is refused, with a message naming the app and the path),
created 0640 with O_EXCL, and `flush` and rotation act on the open descriptor, or on a
path checked to still be that same file, never on whatever the path names by then.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from corral.config.spec import AppSpec
from corral.engine.datefmt import PM2_TIME_FORMAT, Formatter, compile_format
from corral.engine.events import Event, LogLines, Removed, StateChanged
from corral.engine.lines import count_lines
from corral.engine.logrotate import (
    FILE_MODE,
    compress_then_prune,
    next_time,
    prune,
    rotated_files,
    rotated_name,
)

__all__ = ["LogFile", "LogFiles", "LogPaths", "Rotation", "log_paths", "rotated_files"]

DEV_NULL = "/dev/null"
LOG_FILE_DEFAULT = "true"
"""How config spells `log_file = true`: `NAME.log` in the logs folder."""
APPEND = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW


class LinkRefused(ValueError):
    """A log file's path is a symbolic link (which corral never follows)."""


def open_append(path: str) -> int:
    """A descriptor appending to PATH: a new file (0640, O_EXCL: ours, not a planted one)
    or an existing regular one; never through a symbolic link (LinkRefused)."""
    try:
        return os.open(path, APPEND | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass
    try:
        return os.open(path, APPEND)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LinkRefused(path) from None
        raise


def link_refusal(app: str, path: str) -> str:
    """The message for a log path that is a symbolic link."""
    return (
        f"app {app}: refusing log file {path}: it is a symbolic link, and corral never "
        "follows one for a log file (whoever made it could point it at any file); "
        "give the real path"
    )


def linked_paths(spec: AppSpec, home: str) -> list[str]:
    """The log paths of SPEC (as its first process names them) that are symbolic links."""
    paths = log_paths(spec, 0, home)
    return [p for p in (paths.out, paths.err, paths.combined) if p and os.path.islink(p)]


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


class LogFile:
    """One open log file, shared by every process that writes to the same path."""

    def __init__(
        self,
        path: str,
        rotation: Rotation,
        warn: Callable[[str], None],
        app: str = "?",
        private: bool = False,
    ) -> None:
        self.path = path
        self.rotation = rotation
        self.refs = 0
        self.app = app
        """The app that first wrote here (named in messages)."""
        self.private = private
        """In corral's home: its mode is kept at 0640 or less whenever it is opened."""
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
            self._fd = open_append(self.path)
            info = os.fstat(self._fd)
            self._size = info.st_size
            if self.private:
                self._keep_private(info)
            self._failed = False
        except LinkRefused:
            self._fd = -1
            self._report(link_refusal(self.app, self.path))
        except OSError as exc:
            self._fd = -1
            self._report(f"app {self.app}: cannot open log file {self.path}: {exc}")
        self._next_rotation = next_time(self.rotation.interval)

    def close(self) -> None:
        """Close the handle (idempotent)."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = -1

    def write(self, *parts: bytes | memoryview) -> int:
        """Append PARTS whole (one writev, no joined copy), then rotate if the file grew
        past its limit or its time came; the bytes written (0 on failure)."""
        if self._fd < 0:
            self.open()
            if self._fd < 0:
                return 0
        size = sum(map(len, parts))
        try:
            written = os.writev(self._fd, parts)
            if written < size:  # a short write (a full disk, a signal): finish the rest
                view = memoryview(b"".join(parts))[written:]
                while view:
                    view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self._report(f"app {self.app}: cannot write log file {self.path}: {exc}")
            return 0
        self._size += size
        due = self._next_rotation is not None and time.time() >= self._next_rotation
        if self._size >= self.rotation.max_size or due:
            self.rotate()
        return size

    def rotate(self) -> None:
        """Rename the file aside, reopen a fresh one, prune and compress old ones."""
        if self._size == 0:
            self._next_rotation = next_time(self.rotation.interval)
            return
        target = rotated_name(self.path) if self._still_ours() else ""
        self.close()
        if target:
            try:
                os.rename(self.path, target)
            except OSError as exc:
                self._report(f"app {self.app}: cannot rotate {self.path}: {exc}")
                target = ""
        self.open()
        keep = max(0, self.rotation.retain)
        if target and self.rotation.compress:
            threading.Thread(
                target=compress_then_prune, args=(target, self.path, keep), daemon=True
            ).start()
        else:
            prune(self.path, keep)

    def truncate(self) -> None:
        """Empty the file (`corral flush`): the one we write, whatever the path names now."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
        self._size = 0

    def _still_ours(self) -> bool:
        """Whether the path still names the file we write (not a link or file put there
        since: rotation renames the path, and must only ever move our own file)."""
        try:
            mine, named = os.fstat(self._fd), os.lstat(self.path)
        except OSError:
            return False
        if (mine.st_dev, mine.st_ino) == (named.st_dev, named.st_ino):
            return True
        self._report(f"app {self.app}: {self.path} is no longer the file corral wrote; not rotated")
        return False

    def _keep_private(self, info: os.stat_result) -> None:
        """Take back group write and any access by others (a mode changed by mistake)."""
        mode = stat.S_IMODE(info.st_mode)
        if mode & ~FILE_MODE and info.st_uid == os.geteuid():
            os.fchmod(self._fd, mode & FILE_MODE)
            self._warn(f"log file {self.path} had mode {mode:04o}; set to {mode & FILE_MODE:04o}")

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
        self.bytes_written = 0
        """Bytes appended to log files since start (for `corral metrics`)."""
        self.counting = False
        """Whether lines are counted: once something reads the count (a metrics scrape),
        for good. Counting costs a scan of every block, a fifth of the daemon's time in a
        plain burst, and would be the only thing needing line ends there (issue 19)."""
        self.lines_written = 0
        """Log lines handed to files since counting began (for `corral metrics`)."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, LogLines):
            route = self._routes.get(event.id)
            if route is not None:
                self._write(route, event)
                if self.counting:
                    self.lines_written += count_lines(event.block)
        elif isinstance(event, StateChanged):
            spec = event.info.spec
            route = self._routes.get(event.info.id)
            if spec is not None and (route is None or route.spec is not spec):
                self._route(event.info.id, spec)
        elif isinstance(event, Removed):
            self._unroute(event.id)

    def plain(self, pm_id: int) -> bool:
        """Whether process PM_ID's lines go to its files exactly as written (no stamp, no
        JSON) and uncounted, so they may be written straight from a read buffer."""
        route = self._routes.get(pm_id)
        return route is not None and route.stamp is None and not route.json and not self.counting

    def write_lent(self, pm_id: int, stream: str, partial: bytes, lines: memoryview) -> None:
        """Write PARTIAL and LINES (whole lines, newline included) as they are (see
        `plain`). LINES is lent: a view of a read buffer, of which nothing is kept."""
        route = self._routes.get(pm_id)
        if route is not None:
            self._put(route, stream, partial, lines)  # an empty PARTIAL adds nothing to writev

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
            # The plain case: the block and its newline go to the file as they are.
            self._put(route, event.stream, event.block, b"\n")
            return
        self._put(route, event.stream, data)

    def _put(self, route: _Route, stream: str, *parts: bytes | memoryview) -> None:
        target = route.out if stream == "out" else route.err
        if target is not None:
            self.bytes_written += target.write(*parts)
        if route.combined is not None:
            self.bytes_written += route.combined.write(*parts)

    def _route(self, pm_id: int, spec: AppSpec) -> None:
        self._unroute(pm_id)
        paths = log_paths(spec, pm_id, self.home)
        rotation = rotation_for(spec, self.defaults)
        fmt = spec.log_date_format or (PM2_TIME_FORMAT if spec.time else None)
        self._routes[pm_id] = _Route(
            spec,
            self._acquire(paths.out, rotation, spec.name),
            self._acquire(paths.err, rotation, spec.name),
            self._acquire(paths.combined, rotation, spec.name),
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

    def _acquire(self, path: str | None, rotation: Rotation, app: str) -> LogFile | None:
        if path is None:
            return None
        log = self._files.get(path)
        if log is None:
            private = os.path.dirname(path) == os.path.join(self.home, "logs")
            log = self._files[path] = LogFile(path, rotation, self._warn, app, private)
        log.refs += 1
        return log


class FileLender:
    """One process stream's lender (spawn.Lender): its lines go to its files as they lie
    in the read buffer while the files are alone with them and take them plain."""

    __slots__ = ("_alone", "_files", "_id", "_stream")

    def __init__(self, files: LogFiles, pm_id: int, stream: str, alone: Callable[[], bool]):
        self._files, self._id, self._stream, self._alone = files, pm_id, stream, alone

    def willing(self) -> bool:
        return self._alone() and self._files.plain(self._id)

    def lend(self, partial: bytes, lines: memoryview) -> None:
        self._files.write_lent(self._id, self._stream, partial, lines)


def _iso(ts: float) -> str:
    local = time.localtime(ts)
    offset = time.strftime("%z", local)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", local)
        + f".{int(ts * 1000) % 1000:03d}{offset[:3]}:{offset[3:]}"
    )
