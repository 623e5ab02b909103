"""Provides Supervisor: the process table, target resolution and the command surface.

It implements SupervisorAPI in-process; the daemon wraps one and serves it over RPC.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from corral.config import limits
from corral.config.spec import AppSpec
from corral.engine import gate
from corral.engine.api import BadArgument, ReloadFailed, Restored, StartError, UnknownTarget
from corral.engine.events import (
    Event,
    HostSample,
    Lifecycle,
    MetricsSample,
    ProcessInfo,
    Removed,
    StateChanged,
    Stream,
)
from corral.engine.gate import DepsMode
from corral.engine.hub import Hub, Sink
from corral.engine.logfiles import FileLender, LogFiles, Rotation
from corral.engine.metrics import Sampler, Target
from corral.engine.ordering import StartOrder
from corral.engine.process import ManagedProcess
from corral.engine.reaper import REAPER
from corral.engine.run import signal_number
from corral.engine.sockets import SocketPool
from corral.engine.spawn import Lender
from corral.engine.states import ProcessState
from corral.engine.table import ProcessTable
from corral.engine.tree import Lineage
from corral.engine.triggers import Triggers
from corral.home import Home, resolve_home

if TYPE_CHECKING:
    from pathlib import Path

Action = Callable[[ManagedProcess], Awaitable[None]]


async def each(procs: Iterable[ManagedProcess], action: Action) -> None:
    """Run ACTION on each process concurrently; one failure does not stop the others, and
    the first is raised once all have finished."""
    results = await asyncio.gather(*(action(p) for p in procs), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


class Supervisor:
    """Owns every managed process; it is the one place commands are carried out.

    Every front end runs these commands (the daemon's RPC maps onto them one to one), so
    what a command does to the triggers (watch, cron), the counters and the events is
    the same from `corral up`, `monit`, or the CLI through the daemon. Commands take one
    or more targets (ids, names, namespaces or `all`)."""

    def __init__(
        self,
        home: Path | str | None = None,
        rotation: Rotation | None = None,
        sample_interval: float = 1.0,
    ) -> None:
        self.home = Home(resolve_home(home)).ensure().root
        self.managed: set[int] = set()
        """Root pids of every live run, so tree walks never attribute one app's to another."""
        self.lineage = Lineage()
        """The run each descendant was last seen in (by the sampler), and our orphans."""
        self.pool = SocketPool()
        """Every listening socket held for apps (declared or asked for on demand)."""
        self._table = ProcessTable(self.pool)
        self._hub = Hub()
        self.logs = LogFiles(self.home, rotation, self._log_trouble)
        """Writes every line to its files; the first sink, so files never lag a viewer."""
        self._hub.add_sink(self.logs)
        self._table_lock = asyncio.Lock()
        self._open = False
        self.closing = False
        """Set by `close` and `kill_now`: from then on nothing is restarted."""
        self.sample_interval = sample_interval
        """Seconds between two metrics samples, and so between two memory-limit checks."""
        self._sampler = Sampler(lineage=self.lineage)
        self._hub.on_watch = self._sampler.wake  # a new viewer wants 1 Hz figures now
        self._sampling: asyncio.Task[None] | None = None
        self._triggers = Triggers(self)
        self._order = StartOrder(self._table, self._each, lambda: self.closing)
        """depends_on: starts that wait, and the order of starts and stops."""
        self._hub.add_sink(self._order, lines=False)

    # --------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Supervisor:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Start reaping children on the running loop."""
        if not self._open:
            REAPER.install(asyncio.get_running_loop())
            self._open = True
            run = self._sampler.run(
                self.sample_interval,
                self._targets,
                self._sampled,
                self._log_trouble,
                lambda: self._hub.watched,
            )
            self._sampling = asyncio.get_running_loop().create_task(run)

    async def close(self) -> None:
        """Stop every process (gracefully, all at once), then stop reaping."""
        if not self._open:
            return
        self.closing = True
        await self._triggers.close()
        await self._order.stop(list(self._table.procs.values()))
        self._table.close_sockets()
        if self._sampling is not None:
            self._sampling.cancel()
            self._sampling = None
        self.logs.close()
        REAPER.uninstall()
        self._open = False

    # ------------------------------------------------------------------ events

    def publish(self, event: Event) -> None:
        """Hand EVENT to every sink and subscriber."""
        self._hub.publish(event)
        if isinstance(event, StateChanged):
            self._sampler.soon(self.sample_interval)  # a new run: sampled within a tick

    def _log_trouble(self, message: str) -> None:
        self.publish(Lifecycle(-1, "corral", time.time(), message, "error"))

    def add_sink(self, sink: Sink, samples: bool = False, lines: bool = True) -> None:
        """Call SINK synchronously for every event (it must never block); metrics
        samples only with SAMPLES or while someone subscribes; log lines unless LINES
        is False (a sink that ignores them says so: lines are then lent to the files)."""
        self._hub.add_sink(sink, samples, lines)

    def lender(self, pm_id: int, stream: Stream) -> Lender:
        """What process PM_ID's STREAM reader lends plain lines to: its log files, while
        they are the only taker of lines (see spawn.PipeReader)."""
        hub, logs = self._hub, self.logs
        return FileLender(logs, pm_id, stream, lambda: hub.takes_lines_alone(logs))

    def event_batches(self, window: float) -> AsyncIterator[list[Event]]:
        """`events`, gathered into lists of what arrives within WINDOW seconds (for RPC)."""
        now = time.time()
        return self._hub.subscribe_batches(
            lambda: [StateChanged(p.info(), now) for p in self._table.procs.values()], window
        )

    def events(self) -> AsyncIterator[Event]:
        """Each process's current state first, then live events."""
        now = time.time()
        return self._hub.subscribe(
            lambda: [StateChanged(p.info(), now) for p in self._table.procs.values()]
        )

    # ------------------------------------------------------------------ table

    def get(self, pm_id: int) -> ManagedProcess:
        """The process with id PM_ID (UnknownTarget if there is none)."""
        return self._table.get(pm_id)

    def processes(self) -> list[ManagedProcess]:
        """Every managed process, in id order."""
        return self._table.all()

    async def add(self, specs: Sequence[AppSpec], *, replace: bool = False) -> list[ProcessInfo]:
        """Register one process per instance of each spec and start those with autostart.

        With REPLACE, a spec whose name exists restarts that app with the new spec, scaled to
        its instance count (PM2: starting a name that exists restarts it with new options).
        """
        touched: list[ManagedProcess] = []
        fresh: list[AppSpec] = []
        for spec in specs:
            running = self._table.named(spec.name)
            if not (replace and running):
                fresh.append(spec)
                continue
            for proc in running:
                proc.replace_spec(spec)
                proc.watch_on = bool(spec.watch)
            self._triggers.resume(running)
            await self._each(running, self._restart_one)
            if len(running) != spec.instances:
                await self.scale(spec.name, spec.instances)
            touched += self._table.named(spec.name)
        created: list[ManagedProcess] = []
        async with self._table_lock:
            self._table.bind(fresh)
            for spec in fresh:
                for _ in range(max(1, spec.instances)):
                    created.append(self._table.create(self, spec))
        starting = [p for p in created if p.spec.autostart]
        self._triggers.resume(starting)
        await self._order.start(starting)
        if touched:
            self._order.recheck_soon()  # a waiting app's new spec may depend on other things
        return _infos(touched + created)

    async def restore(self, saved: Sequence[Restored]) -> list[ProcessInfo]:
        """Bring back saved processes, one per entry (resurrect, crash recovery, update):
        each under its old id when free, with its watch switch and pause, started unless
        it was stopped. An app whose sockets cannot be bound is skipped and said so."""
        created: list[tuple[ManagedProcess, Restored]] = []
        async with self._table_lock:
            for entry in saved:
                try:
                    self._table.bind([entry.spec])
                except StartError as exc:
                    self._log_trouble(f"cannot restore {entry.spec.name}: {exc}")
                    continue
                if entry.id is not None and entry.id >= 0:
                    self._table.skip_ids_to(entry.id)
                proc = self._table.create(self, entry.spec)
                proc.watch_on = bool(entry.spec.watch) if entry.watch_on is None else entry.watch_on
                created.append((proc, entry))
        self._triggers.resume(p for p, e in created if not _held(e))
        await self._order.start([p for p, e in created if e.status != "stopped"])
        return [p.info() for p, _ in created]

    # ---------------------------------------------------------------- commands

    async def start(self, *targets: str, deps: DepsMode = "wait") -> list[ProcessInfo]:
        """Start what is not running; watch and cron resume. DEPS: see gate.DepsMode."""
        if deps not in gate.DEPS_MODES:
            raise BadArgument(f"deps must be one of {', '.join(gate.DEPS_MODES)}")
        procs = self._table.resolve_all(targets)
        if deps == "with":
            self._triggers.resume(await self._order.start_needs(procs))
        self._triggers.resume(procs)  # triggers follow the command, before it takes effect
        if deps == "ignore":
            await self._each(procs, ManagedProcess.start)
        else:
            await self._order.start(procs)
        return _infos(procs)

    def unmet(self, proc: ManagedProcess) -> tuple[str, ...]:
        """What of PROC's depends_on does not hold now (empty: it may start)."""
        return self._order.unmet(proc)

    async def stop(self, *targets: str) -> list[ProcessInfo]:
        """Stop and stay stopped (dependants before what they depend on); watch and cron
        pause until the next start."""
        procs = self._table.resolve_all(targets)
        self._triggers.pause(procs)
        await self._order.stop(procs)
        return _infos(procs)

    async def restart(
        self,
        *targets: str,
        env: Mapping[str, str] | None = None,
        toggle_watch: bool = False,
        cron_restart: str | None = None,
    ) -> list[ProcessInfo]:
        """Stop (if running) and start again; see SupervisorAPI.restart for the options."""
        procs = self._table.resolve_all(targets)
        cron = _cron_pattern(cron_restart)
        self._update_env(procs, env, reread=env is not None)
        if cron is not None:
            for proc in procs:
                proc.replace_spec(dataclasses.replace(proc.spec, cron_restart=cron or None))
        if toggle_watch:
            self._triggers.toggle_watch(procs)
        self._triggers.resume(procs)
        await self._each(procs, self._restart_one)
        return _infos(procs)

    async def _restart_one(self, proc: ManagedProcess) -> None:
        """A restart; of a process that is not running, a start that waits for its
        dependencies (a running one restarts at once: its dependants are not touched)."""
        if proc.spec.depends_on and proc.pid is None:
            await proc.start(self._order.gate(proc))
        else:
            await proc.restart()

    async def reload(
        self, *targets: str, env: Mapping[str, str] | None = None
    ) -> list[ProcessInfo]:
        """Rolling reload of TARGETS (see `reload_each`); ReloadFailed names the failures."""
        procs = self._table.resolve_all(targets)
        self._update_env(procs, env, reread=True)
        self._triggers.resume(procs)
        idle = [p for p in procs if p.spec.depends_on and p.pid is None]
        await self._order.start(idle)
        await self.reload_each([p for p in procs if p not in idle])
        return _infos(procs)

    async def reload_each(self, procs: list[ManagedProcess]) -> None:
        """Replace PROCS `reload_parallel` at a time, each only once its successor is ready
        (apps without shared sockets are restarted, as in PM2). Raises ReloadFailed."""
        failed: list[ManagedProcess] = []
        step = max(1, min((p.spec.reload_parallel for p in procs), default=1))
        for start in range(0, len(procs), step):
            batch = procs[start : start + step]
            results = await asyncio.gather(*(p.reload() for p in batch))
            failed.extend(p for p, ok in zip(batch, results, strict=True) if not ok)
        if failed:
            names = ", ".join(f"{p.spec.name}[{p.id}]" for p in failed)
            raise ReloadFailed(f"reload failed for {names}: the replacement never got ready")

    @staticmethod
    def _update_env(
        procs: list[ManagedProcess], env: Mapping[str, str] | None, *, reread: bool = False
    ) -> None:
        """restart/reload --update-env: ENV over each spec's env, from the next run on.

        With REREAD (reload, and restart --update-env), each app's env files are read
        again and laid over, under its `env` tables (the precedence of a load). A file
        that cannot be read is BadArgument naming the app, and no process is touched.
        """
        from corral.config import envfile

        updated: list[tuple[ManagedProcess, AppSpec]] = []
        for proc in procs:
            spec = proc.spec
            if env is not None:
                spec = dataclasses.replace(spec, env={**spec.env, **env})
            try:
                updated.append((proc, envfile.reread(spec) if reread else spec))
            except ValueError as exc:
                raise BadArgument(str(exc)) from None
        for proc, spec in updated:
            if spec is not proc.spec:
                proc.replace_spec(spec)

    async def delete(self, *targets: str) -> list[ProcessInfo]:
        """Stop and remove; ids restart from 0 once the table is empty (as PM2)."""
        procs = self._table.resolve_all(targets)
        await self._remove(procs)
        return _infos(procs)

    async def _remove(self, procs: list[ManagedProcess]) -> None:
        """Stop PROCS and drop them from the table; an app's sockets close with its last."""
        await self._triggers.forget(procs)
        await self._order.stop(procs)
        self._sampler.forget(p.id for p in procs)
        async with self._table_lock:
            for proc in self._table.drop(procs):
                self.publish(Removed(proc.id, proc.spec.name, time.time()))

    async def signal(self, *targets: str, signal: str) -> list[ProcessInfo]:
        """Send SIGNAL (a name or a number) to each target's main process."""
        try:
            sig = signal_number(str(signal))
        except (KeyError, ValueError):
            raise BadArgument(f"unknown signal {signal!r}") from None
        procs = self._table.resolve_all(targets)
        for proc in procs:
            proc.send_signal(sig)
        return _infos(procs)

    async def reset(self, *targets: str) -> list[ProcessInfo]:
        """Zero the restart counters (PM2's `reset`)."""
        procs = self._table.resolve_all(targets)
        for proc in procs:
            proc.reset()
        return _infos(procs)

    async def scale(self, name: str, count: int, *, relative: bool = False) -> list[ProcessInfo]:
        """Add or remove instances of NAME until COUNT run (COUNT more or fewer with
        RELATIVE); the oldest are removed first and the newest kept, as PM2 does."""
        procs = self._table.named(name)
        if not procs:
            raise UnknownTarget(f"process not found: {name}")
        wanted = len(procs) + count if relative else count
        if wanted < 0:  # never a silent `delete`: scaling to 0 is said explicitly
            raise BadArgument(f"cannot scale {name} to {wanted}: it has {len(procs)} instances")
        if wanted > limits.MAX_INSTANCES:  # the bound a config file has (config/limits.py)
            raise BadArgument(f"cannot scale {name} to {wanted}: at most {limits.MAX_INSTANCES}")
        if wanted > len(procs):
            spec = procs[-1].spec
            async with self._table_lock:
                extra = [self._table.create(self, spec) for _ in range(wanted - len(procs))]
            self._triggers.resume(extra)
            await self._order.start(extra)
        elif wanted < len(procs):
            await self._remove(procs[: len(procs) - wanted])
        return _infos(self._table.named(name))

    async def kill(self) -> list[ProcessInfo]:
        """Stop every process for good (the daemon exits next): nothing restarts any more."""
        self.closing = True
        procs = list(self._table.procs.values())
        self._triggers.pause(procs)
        await self._order.stop(procs)
        return _infos(procs)

    async def flush(self, *targets: str) -> list[ProcessInfo]:
        """Empty the log files of TARGETS (of every process without targets)."""
        procs = self._table.resolve_all(targets) if targets else list(self._table.procs.values())
        self.logs.truncate([p.id for p in procs])
        return _infos(procs)

    async def reload_logs(self) -> None:
        """Reopen every log file (after an external logrotate moved them)."""
        self.logs.reopen()

    def kill_now(self) -> None:
        """SIGKILL every process tree at once; pending stops then finish immediately."""
        self.closing = True
        for proc in self._table.procs.values():
            proc.kill_now()

    # ---------------------------------------------------------------- metrics

    async def history(self, pm_id: int) -> list[MetricsSample]:
        """PM_ID's recent samples, oldest first (15 min at 1 Hz), for sparklines.

        Whoever draws them looks at the figures: every app is sampled at 1 Hz for a while.
        """
        self.get(pm_id)
        self._sampler.attend()
        return self._sampler.history(pm_id)

    def attend(self) -> None:
        """Someone reads the figures (a metrics scrape): sample every app at 1 Hz a while,
        and count log lines from now on."""
        self._sampler.attend()
        self.logs.counting = True

    async def host(self) -> HostSample | None:
        """The machine's CPU, memory and load figures (None before the first tick);
        sampled every tick while subscribers watch, with the idle passes otherwise."""
        return self._sampler.last_host

    def _targets(self) -> tuple[list[Target], set[int]]:
        running = [
            Target(p.id, p.pid, p.token, bool(p.spec.max_memory_restart))
            for p in self._table.procs.values()
            if p.pid and p.token
        ]
        return running, self.managed

    def _sampled(self, samples: list[MetricsSample], host: HostSample | None) -> None:
        latest = {sample.id: sample for sample in samples}
        for proc in self._table.procs.values():
            sample = latest.get(proc.id)
            if sample is not None:
                proc.cpu, proc.memory = sample.cpu, sample.memory
                proc.cpu_seconds += sample.cpu_seconds
            elif not (proc.pid and proc.token):
                proc.cpu = proc.memory = None  # not running: no figures
        if self._hub.wants_samples:
            for sample in samples:
                self.publish(sample)
        if host is not None:
            self.publish(host)
        self._triggers.check_memory(samples)

    # --------------------------------------------------------------- helpers

    _each = staticmethod(each)

    def stats(self) -> dict[str, int]:
        """Counters for `corral metrics`: subscribers now, log bytes and lines written,
        lines missed."""
        return {
            "subscribers": self._hub.subscribers,
            "log_bytes_written": self.logs.bytes_written,
            "log_lines_written": self.logs.lines_written,
            "log_lines_dropped": self._hub.lines_dropped,
        }

    def counts(self) -> dict[ProcessState, int]:
        """How many processes are in each state."""
        out: dict[ProcessState, int] = {}
        for proc in self._table.procs.values():
            out[proc.state] = out.get(proc.state, 0) + 1
        return out

    async def list_processes(self, *targets: str) -> list[ProcessInfo]:
        """The processes TARGETS name (every process without targets), in id order."""
        return _infos(self._table.resolve_all(targets) if targets else self._table.procs.values())


def _infos(procs: Iterable[ManagedProcess]) -> list[ProcessInfo]:
    return [p.info() for p in procs]


def _held(entry: Restored) -> bool:
    """Whether ENTRY's watch and cron were paused by a user's stop (older dumps: stopped)."""
    return entry.status == "stopped" if entry.paused is None else entry.paused


def _cron_pattern(value: str | None) -> str | None:
    """VALUE checked as `restart --cron-restart` gives it: None (unchanged), "" (removed,
    PM2's 0) or a pattern; BadArgument otherwise."""
    if value is None:
        return None
    from corral.config.coerce import cron

    try:
        return cron(value) or ""
    except ValueError as exc:
        raise BadArgument(f"cron_restart: {exc}") from None
