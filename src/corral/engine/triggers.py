"""Provides Triggers: the restarts nobody typed (memory limit, file changes, cron).

Each one goes through `ManagedProcess.restart` with its Ending and a detail for the
record, so the restart policy and `describe` see it like any other restart. A process has
at most one triggered restart in flight; a trigger that comes meanwhile is dropped, since
the restart it asks for is already happening.

Which processes a trigger may touch follows the user's commands, through two fields of
each process that are saved with it (dump.json, state.json): `paused` (start and restart
clear it, stop sets it, delete forgets the process) and `watch_on`, the watch switch
(`restart --watch` flips it). A process that ended on its own is not paused, so a file
change or the cron time restarts a crashed or finished app (as in PM2), but never one
the user stopped.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import partial
from typing import Literal, Protocol

from corral.engine.cron import CronJob
from corral.engine.events import Event, Lifecycle, MetricsSample
from corral.engine.policy import Ending
from corral.engine.process import ManagedProcess
from corral.engine.states import ProcessState
from corral.engine.watch import DEFAULT_IGNORE, Rule, Watcher, relative
from corral.figures import size_text

Level = Literal["info", "warn", "error"]


class Table(Protocol):
    """What the triggers need from the supervisor."""

    home: str
    closing: bool

    def processes(self) -> list[ManagedProcess]: ...

    def publish(self, event: Event) -> None: ...


class Triggers:
    """Memory checks, file watches and cron jobs of one supervisor."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._watcher: Watcher | None = None
        self._crons: dict[str, CronJob] = {}
        self._closed = False

    # -------------------------------------------------------------- commands

    def resume(self, procs: Iterable[ManagedProcess]) -> None:
        """A command started PROCS: watch their files (switch on), let their cron restart them."""
        for proc in procs:
            self.apply(proc, paused=False)

    def pause(self, procs: Iterable[ManagedProcess]) -> None:
        """A command stopped PROCS: no trigger restarts them until they are started again."""
        for proc in procs:
            self.apply(proc, paused=True)

    def toggle_watch(self, procs: Iterable[ManagedProcess]) -> None:
        """PM2's `restart --watch`: flip each one's watch switch (on watches the spec's paths,
        or the cwd when the spec had none)."""
        for proc in procs:
            proc.watch_on = not proc.watch_on
            if proc.watch_on and not proc.spec.watch:
                proc.replace_spec(replace(proc.spec, watch=True))

    def apply(self, proc: ManagedProcess, *, paused: bool | None = None) -> None:
        """Bring PROC's watch and cron in line with its spec, switch and PAUSED (unchanged
        when None); its snapshot is published when any of them changed, so the keeper
        saves the new runtime state and front ends show it."""
        before = (proc.watching, proc.next_cron, proc.paused)
        if paused is not None:
            proc.paused = paused
        spec = proc.spec  # may have changed since the last start (restart --update-env)
        if spec.watch and proc.watch_on and not proc.paused:
            watcher = self._watcher or self._new_watcher()
            rule = self._rule(proc)
            if watcher.rule(proc.id) != rule:
                for problem in watcher.add(proc.id, rule):
                    self._say(proc, f"watch: {problem}", "warn")
            proc.watching = watcher.watches(proc.id)
        else:
            if self._watcher is not None:
                self._watcher.remove(proc.id)
            proc.watching = False
        job = self._crons.get(spec.name)
        if job is not None and job.expression != spec.cron_restart:
            self._crons.pop(spec.name).cancel()
            job = None
        if spec.cron_restart and not proc.paused:
            job = job or self._new_cron(proc)
        proc.next_cron = job.next_at if job is not None and not proc.paused else None
        if (proc.watching, proc.next_cron, proc.paused) != before:
            proc.publish_state()

    async def forget(self, procs: Sequence[ManagedProcess]) -> None:
        """PROCS are being deleted: pause them, let a restart in flight finish, drop their cron."""
        self.pause(procs)
        ids = {proc.id for proc in procs}
        pending = [task for pm_id, task in self._inflight.items() if pm_id in ids]
        if pending:
            await asyncio.wait(pending)
        left = {p.spec.name for p in self._table.processes() if p.id not in ids}
        for name in [name for name in self._crons if name not in left]:
            self._crons.pop(name).cancel()

    async def close(self) -> None:
        """Stop every trigger and wait for the restarts already under way."""
        self._closed = True
        jobs = list(self._crons.values())
        self._crons.clear()
        for job in jobs:
            job.cancel()
        for job in jobs:
            await job.wait_closed()
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        if self._inflight:
            await asyncio.wait(list(self._inflight.values()))

    # --------------------------------------------------------------- restart

    def fire(self, proc: ManagedProcess, ending: Ending, detail: str) -> bool:
        """Restart PROC in a task, unless one is already under way; True if started."""
        if self._closed or self._table.closing or proc.id in self._inflight:
            return False
        task = asyncio.get_running_loop().create_task(self._restart(proc, ending, detail))
        self._inflight[proc.id] = task
        task.add_done_callback(partial(self._done, proc))
        return True

    async def _restart(self, proc: ManagedProcess, ending: Ending, detail: str) -> None:
        # A clustered app over its memory limit is reloaded, without downtime, as PM2
        # does; other triggers restart (PM2 restarts on watch and cron too).
        if ending is Ending.MEMORY and proc.spec.exec_mode == "cluster":
            self._say(proc, f"reloading ({detail})")
            await proc.reload(ending, detail)
        else:
            await proc.restart(ending, detail)

    def _done(self, proc: ManagedProcess, task: asyncio.Task[None]) -> None:
        if self._inflight.get(proc.id) is task:
            del self._inflight[proc.id]
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._say(proc, f"restart failed: {exc!r}", "error")

    # ---------------------------------------------------------------- memory

    def check_memory(self, samples: Iterable[MetricsSample]) -> None:
        """Restart each online process whose sample is over its `max_memory_restart`."""
        procs = {proc.id: proc for proc in self._table.processes()}
        for sample in samples:
            proc = procs.get(sample.id)
            if proc is None or proc.state is not ProcessState.ONLINE:
                continue
            limit = proc.spec.max_memory_restart
            if not limit:
                continue
            tree = proc.spec.memory_scope == "tree"
            used = sample.memory if tree else sample.memory_main
            if used > limit:
                scope = "" if tree else " (main process)"
                detail = f"memory {size_text(used)} > limit {size_text(limit)}{scope}"
                self.fire(proc, Ending.MEMORY, detail)

    # ----------------------------------------------------------------- watch

    def _new_watcher(self) -> Watcher:
        self._watcher = Watcher(self._changed)
        return self._watcher

    def _rule(self, proc: ManagedProcess) -> Rule:
        spec = proc.spec
        roots = (spec.cwd,) if spec.watch is True else tuple(spec.watch or ())
        # Our own log files must never restart an app: that would loop.
        logs = [os.path.join(self._table.home, "logs")]
        logs += [p for p in (spec.out_file, spec.error_file, spec.log_file) if p and p[0] == "/"]
        ignore = (*DEFAULT_IGNORE, *logs, *spec.ignore_watch)
        return Rule(spec.name, roots, ignore, spec.cwd, spec.watch_delay / 1000)

    def _changed(self, app: str, path: str, count: int) -> None:
        """A burst of changes ended: restart every watching instance of APP once."""
        procs = [p for p in self._table.processes() if p.spec.name == app and p.watching]
        if not procs:
            return
        shown = relative(path, procs[0].spec.cwd) or path
        more = f" and {count - 1} more" if count > 1 else ""
        detail = f"file{'s' if more else ''} changed: {shown}{more}"
        for proc in procs:
            self.fire(proc, Ending.WATCH, detail)

    # ------------------------------------------------------------------ cron

    def _new_cron(self, proc: ManagedProcess) -> CronJob | None:
        name, expression = proc.spec.name, proc.spec.cron_restart
        assert expression is not None
        job = CronJob(expression, partial(self._cron_due, name), partial(self._cron_next, name))
        try:
            job.start()
        except (ValueError, KeyError) as exc:  # croniter's errors; specs from files are checked
            self._say(proc, f"cron_restart {expression!r}: {exc}", "error")
            return None
        self._crons[name] = job
        return job

    def _cron_next(self, app: str, at: float) -> None:
        for proc in self._table.processes():
            if proc.spec.name == app and not proc.paused:
                proc.next_cron = at

    def _cron_due(self, app: str) -> None:
        job = self._crons.get(app)
        if job is None:
            return
        for proc in self._table.processes():
            if proc.spec.name == app and not proc.paused:
                self.fire(proc, Ending.CRON, f"cron {job.expression}")

    # --------------------------------------------------------------- helpers

    def _say(self, proc: ManagedProcess, message: str, level: Level = "info") -> None:
        self._table.publish(Lifecycle(proc.id, proc.spec.name, time.time(), message, level))
