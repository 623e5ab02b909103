"""Provides Watcher: file changes under watched paths, debounced into one call per burst.

One watchdog observer (inotify on Linux) serves every app of a supervisor; it is created
when the first app needs it, so an engine without `watch` never imports watchdog. The
observer's thread does nothing but hand paths to the event loop
(`loop.call_soon_threadsafe`); matching, ignoring and debouncing happen on the loop.
A directory is watched once however many processes want it (reference counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers.api import BaseObserver, ObservedWatch

DEFAULT_IGNORE: tuple[str, ...] = (
    ".git",
    "node_modules",
    "__pycache__",
    "*.pyc",
    "*.log",
    "*.swp",
    "*.swx",
    "*~",
)
"""Always ignored, whatever `ignore_watch` says (PM2 replaces its defaults instead)."""

MAX_PATHS_NAMED = 1000
"""Distinct paths counted per burst; past this the count stops growing, not the burst."""

OnChange = Callable[[str, str, int], None]
"""Called with (app name, first path that changed, number of distinct paths)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """What one process watches: ROOTS (absolute dirs or files) minus IGNORE."""

    app: str
    roots: tuple[str, ...]
    ignore: tuple[str, ...]
    """Globs (`*.tmp`, `src/gen`, `**/cache`) or absolute paths; see `ignored`."""
    base: str
    """The app's cwd: globs are tried against the path relative to it too, as PM2 does."""
    delay: float
    """Seconds of quiet after the last change before the app is told."""


@dataclass(slots=True)
class _Burst:
    first: str
    last_at: float
    delay: float
    paths: set[str] = field(default_factory=set)


def ignored(rel: str, path: str, patterns: Iterable[str]) -> bool:
    """True when PATH (REL to its watched root) matches one of PATTERNS.

    A pattern without a slash matches any component (`.git`, `*.pyc`), one with a slash
    matches the relative path or a folder above it, an absolute one matches that path
    and everything under it. `\\.` is read as a literal dot, as in PM2's examples.
    """
    parts = rel.split("/")
    for raw in patterns:
        pattern = re.sub(r"\\(.)", r"[\1]", raw).removeprefix("./").rstrip("/")
        if not pattern:
            continue
        if pattern.startswith("/"):
            if path == pattern or path.startswith(pattern + "/"):
                return True
            continue
        pattern = pattern.removeprefix("**/")
        if "/" not in pattern:
            if any(fnmatch.fnmatchcase(part, pattern) for part in parts):
                return True
            continue
        for end in range(1, len(parts) + 1):
            if fnmatch.fnmatchcase("/".join(parts[:end]), pattern):
                return True
    return False


def relative(path: str, root: str) -> str | None:
    """PATH relative to ROOT (a file root gives its own name); None when outside ROOT."""
    if path == root:
        return os.path.basename(path)
    prefix = root.rstrip("/") + "/"
    return path[len(prefix) :] if path.startswith(prefix) else None


class Watcher:
    """Watches the paths of each registered process and reports bursts per app."""

    def __init__(self, on_change: OnChange) -> None:
        self._on_change = on_change
        self._rules: dict[int, Rule] = {}
        """What each process watches, minus the paths that could not be watched."""
        self._requests: dict[int, Rule] = {}
        self._refs: dict[str, int] = {}
        self._watches: dict[str, ObservedWatch] = {}
        self._observer: BaseObserver | None = None
        self._handler: FileSystemEventHandler | None = None
        self._bursts: dict[str, _Burst] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def watched(self) -> list[str]:
        """The paths the observer watches now."""
        return sorted(self._watches)

    def add(self, key: int, rule: Rule) -> list[str]:
        """Watch RULE for process KEY (replacing its old rule); returns the paths that failed."""
        self.remove(key)
        self._requests[key] = rule
        self._loop = asyncio.get_running_loop()
        problems, kept = [], []
        for root in dict.fromkeys(rule.roots):
            try:
                self._ref(root)
            except OSError as exc:
                problems.append(f"cannot watch {root}: {exc.strerror or exc}")
            else:
                kept.append(root)
        if kept:
            self._rules[key] = Rule(rule.app, tuple(kept), rule.ignore, rule.base, rule.delay)
        return problems

    def rule(self, key: int) -> Rule | None:
        """What process KEY asked to watch, None when nothing."""
        return self._requests.get(key)

    def remove(self, key: int) -> None:
        """Stop watching for process KEY; a path nobody else wants is unwatched."""
        self._requests.pop(key, None)
        rule = self._rules.pop(key, None)
        if rule is not None:
            for root in rule.roots:
                self._unref(root)

    def close(self) -> None:
        """Drop every watch and pending burst, and stop the observer thread."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._bursts.clear()
        self._rules.clear()
        self._requests.clear()
        self._refs.clear()
        self._watches.clear()
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=2)

    # --------------------------------------------------------------- observer

    def _ref(self, root: str) -> None:
        if root not in self._refs:
            if not os.path.exists(root):
                raise FileNotFoundError(2, "No such file or directory", root)
            observer = self._observer or self._start()
            kinds = _event_kinds()
            assert self._handler is not None
            self._watches[root] = observer.schedule(
                self._handler, root, recursive=True, event_filter=kinds
            )
        self._refs[root] = self._refs.get(root, 0) + 1

    def _unref(self, root: str) -> None:
        left = self._refs.get(root, 0) - 1
        if left > 0:
            self._refs[root] = left
            return
        self._refs.pop(root, None)
        watch = self._watches.pop(root, None)
        if watch is not None and self._observer is not None:
            with contextlib.suppress(KeyError, OSError):
                self._observer.unschedule(watch)

    def _start(self) -> BaseObserver:
        # Imported here: only an engine with a watching app pays for watchdog.
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        deliver = self._from_thread

        class Forward(FileSystemEventHandler):
            """Hands each event's path(s) to the loop."""

            def dispatch(self, event: FileSystemEvent) -> None:
                paths = [os.fsdecode(event.src_path)]
                if event.dest_path:
                    paths.append(os.fsdecode(event.dest_path))
                deliver(tuple(paths))

        self._handler = Forward()
        observer = Observer()
        observer.daemon = True
        observer.start()
        self._observer = observer
        return observer

    def _from_thread(self, paths: tuple[str, ...]) -> None:
        """Runs in the observer thread: hand the paths to the loop, nothing more."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed under us
                loop.call_soon_threadsafe(self._on_paths, paths)

    # ---------------------------------------------------------------- bursts

    def _on_paths(self, paths: tuple[str, ...]) -> None:
        now = asyncio.get_running_loop().time()
        for rule in self._rules.values():
            for path in paths:
                if self._matches(rule, path):
                    self._touch(rule, path, now)
                    break

    def watches(self, key: int) -> bool:
        """True when process KEY has at least one path watched."""
        return key in self._rules

    @staticmethod
    def _matches(rule: Rule, path: str) -> bool:
        for root in rule.roots:
            rel = relative(path, root)
            if rel is None or ignored(rel, path, rule.ignore):
                continue
            from_base = relative(path, rule.base)
            if from_base is None or not ignored(from_base, path, rule.ignore):
                return True
        return False

    def _touch(self, rule: Rule, path: str, now: float) -> None:
        burst = self._bursts.get(rule.app)
        if burst is None:
            burst = self._bursts[rule.app] = _Burst(path, now, rule.delay)
            self._arm(rule.app, rule.delay)
        burst.last_at = now
        if len(burst.paths) < MAX_PATHS_NAMED:
            burst.paths.add(path)

    def _arm(self, app: str, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._timers[app] = loop.call_later(max(0.0, delay), self._due, app)

    def _due(self, app: str) -> None:
        """The timer rang: report the burst if it has been quiet for its delay, else wait on."""
        self._timers.pop(app, None)
        burst = self._bursts.get(app)
        if burst is None:
            return
        quiet = asyncio.get_running_loop().time() - burst.last_at
        if quiet < burst.delay:
            self._arm(app, burst.delay - quiet)
            return
        del self._bursts[app]
        self._on_change(app, burst.first, len(burst.paths))


def _event_kinds() -> list[Any]:
    """Changes that count: content, names, metadata (`touch`); never opens or reads.

    Directory "modified" events are left out: a change inside a folder also comes as an
    event on the file itself, which the ignore rules can judge.
    """
    from watchdog import events as ev

    return [
        ev.FileCreatedEvent,
        ev.FileDeletedEvent,
        ev.FileModifiedEvent,
        ev.FileMovedEvent,
        ev.FileAttribEvent,
        ev.DirCreatedEvent,
        ev.DirDeletedEvent,
        ev.DirMovedEvent,
    ]
