"""Provides Supervisor: the process table, target resolution and the command surface.

It implements SupervisorAPI in-process; the daemon wraps one and serves it over RPC.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path

from corral.config.spec import AppSpec
from corral.engine.api import ReloadFailed, StartError, UnknownTarget
from corral.engine.events import (
    Event,
    HostSample,
    Lifecycle,
    MetricsSample,
    ProcessInfo,
    Removed,
    StateChanged,
)
from corral.engine.hub import Hub, Sink
from corral.engine.logfiles import LogFiles, Rotation
from corral.engine.metrics import Sampler, Target
from corral.engine.process import ManagedProcess
from corral.engine.reaper import REAPER
from corral.engine.run import signal_number
from corral.engine.sockets import BindError, SharedSockets, SocketPool
from corral.engine.states import ProcessState
from corral.engine.tree import Lineage
from corral.engine.triggers import Triggers
from corral.home import Home, resolve_home

Action = Callable[[ManagedProcess], Awaitable[None]]


async def each(procs: Iterable[ManagedProcess], action: Action) -> None:
    """Run ACTION on each process concurrently; one failure does not stop the others, and
    the first is raised once all have finished."""
    results = await asyncio.gather(*(action(p) for p in procs), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


class Supervisor:
    """Owns every managed process; commands take a target (id, name, namespace or `all`)."""

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
        self._procs: dict[int, ManagedProcess] = {}
        self._next_id = 0
        self._hub = Hub()
        self.logs = LogFiles(self.home, rotation, self._log_trouble)
        """Writes every line to its files; the first sink, so files never lag a viewer."""
        self._hub.add_sink(self.logs)
        self._table_lock = asyncio.Lock()
        self.pool = SocketPool()
        """Every listening socket held for apps (declared or asked for on demand)."""
        self._sockets: dict[str, SharedSockets] = {}
        """Each cluster app's declared sockets, by app name: they outlive every instance."""
        self._open = False
        self.closing = False
        """Set by `close` and `kill_now`: from then on nothing is restarted."""
        self.sample_interval = sample_interval
        """Seconds between two metrics samples, and so between two memory-limit checks."""
        self._sampler = Sampler(lineage=self.lineage)
        self._sampling: asyncio.Task[None] | None = None
        self._triggers = Triggers(self)

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
        await self._each(list(self._procs.values()), ManagedProcess.stop)
        self._sockets.clear()
        self.pool.close()
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

    def _log_trouble(self, message: str) -> None:
        self.publish(Lifecycle(-1, "corral", time.time(), message, "error"))

    def add_sink(self, sink: Sink) -> None:
        """Call SINK synchronously for every event (it must never block)."""
        self._hub.add_sink(sink)

    def event_batches(self, window: float) -> AsyncIterator[list[Event]]:
        """`events`, gathered into lists of what arrives within WINDOW seconds (for RPC)."""
        now = time.time()
        return self._hub.subscribe_batches(
            lambda: [StateChanged(p.info(), now) for p in self._procs.values()], window
        )

    def events(self) -> AsyncIterator[Event]:
        """Each process's current state first, then live events."""
        now = time.time()
        return self._hub.subscribe(
            lambda: [StateChanged(p.info(), now) for p in self._procs.values()]
        )

    # ------------------------------------------------------------------ table

    def resolve(self, target: str) -> list[ManagedProcess]:
        """The processes TARGET names: `all`, a name, a namespace, or an id (PM2's order)."""
        procs = list(self._procs.values())
        if target == "all":
            return procs
        found = [p for p in procs if p.spec.name == target]
        if not found:
            found = [p for p in procs if p.spec.namespace == target]
        if not found and target.isdigit() and int(target) in self._procs:
            found = [self._procs[int(target)]]
        if not found:
            raise UnknownTarget(f"process or namespace not found: {target}")
        return found

    def get(self, pm_id: int) -> ManagedProcess:
        """The process with id PM_ID."""
        try:
            return self._procs[pm_id]
        except KeyError:
            raise UnknownTarget(f"no process with id {pm_id}") from None

    def skip_ids_to(self, pm_id: int) -> bool:
        """Give the next new process id PM_ID if no id so far reached it (resurrect and crash
        recovery keep ids, so log files keep their names); False when it cannot."""
        if pm_id < self._next_id:
            return False
        self._next_id = pm_id
        return True

    async def add(self, specs: Sequence[AppSpec]) -> list[ProcessInfo]:
        """Register one process per instance of each spec and start those with autostart."""
        created: list[ManagedProcess] = []
        async with self._table_lock:
            self._bind(specs)
            for spec in specs:
                for _ in range(max(1, spec.instances)):
                    created.append(self._create(spec))
        starting = [p for p in created if p.spec.autostart]
        self._triggers.resume(starting)
        await self._each(starting, ManagedProcess.start)
        return [p.info() for p in created]

    def _create(self, spec: AppSpec) -> ManagedProcess:
        siblings = [p for p in self._procs.values() if p.spec.name == spec.name]
        used = {p.instance for p in siblings}
        instance = next(i for i in range(len(used) + 1) if i not in used)
        increment = None
        if spec.increment_var:
            base = int(spec.env.get(spec.increment_var, "0") or 0)
            values = [p.increment_value for p in siblings if p.increment_value is not None]
            increment = max(values) + 1 if values else base
        proc = ManagedProcess(self, self._next_id, spec, instance, increment)
        proc.sockets = self._sockets.get(spec.name)
        self._procs[proc.id] = proc
        self._next_id += 1
        proc._publish_state()
        return proc

    # ---------------------------------------------------------------- commands

    async def start(self, target: str) -> list[ProcessInfo]:
        return await self._on(target, ManagedProcess.start, self._triggers.resume)

    async def stop(self, target: str) -> list[ProcessInfo]:
        return await self._on(target, ManagedProcess.stop, self._triggers.pause)

    async def restart(self, target: str) -> list[ProcessInfo]:
        return await self._on(target, ManagedProcess.restart, self._triggers.resume)

    async def reload(self, target: str) -> list[ProcessInfo]:
        """Rolling reload of TARGET (see `reload_each`)."""
        procs = self.resolve(target)
        self._triggers.resume(procs)
        await self.reload_each(procs)
        return [p.info() for p in procs]

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

    def _bind(self, specs: Sequence[AppSpec]) -> None:
        """Bind the sockets of every new cluster app; on any failure none stays bound."""
        fresh: dict[str, SharedSockets] = {}
        for spec in specs:
            if spec.listen and spec.name not in self._sockets and spec.name not in fresh:
                sockets = SharedSockets(spec.listen, self.pool, spec.name)
                try:
                    sockets.bind()
                except BindError as exc:
                    for done in fresh.values():
                        done.close()
                    raise StartError(f"app {spec.name!r}: {exc.strerror}") from exc
                fresh[spec.name] = sockets
        self._sockets.update(fresh)

    async def delete(self, target: str) -> list[ProcessInfo]:
        """Stop and remove; ids restart from 0 once the table is empty (as PM2)."""
        procs = self.resolve(target)
        await self._remove(procs)
        return [p.info() for p in procs]

    async def _remove(self, procs: list[ManagedProcess]) -> None:
        """Stop PROCS and drop them from the table; an app's sockets close with its last."""
        await self._triggers.forget(procs)
        await self._each(procs, ManagedProcess.stop)
        self._sampler.forget(p.id for p in procs)
        async with self._table_lock:
            for proc in procs:
                if self._procs.pop(proc.id, None) is not None:
                    self.publish(Removed(proc.id, proc.spec.name, time.time()))
            left = {p.spec.name for p in self._procs.values()}
            for name in {p.spec.name for p in procs} - left:
                self._sockets.pop(name, None)
                self.pool.release(name)
            if not self._procs:
                self._next_id = 0

    async def signal(self, target: str, signal: str) -> list[ProcessInfo]:
        """Send SIGNAL to each target's main process."""
        sig = signal_number(signal)
        procs = self.resolve(target)
        for proc in procs:
            proc.send_signal(sig)
        return [p.info() for p in procs]

    async def reset(self, target: str) -> list[ProcessInfo]:
        procs = self.resolve(target)
        for proc in procs:
            proc.reset()
        return [p.info() for p in procs]

    async def scale(self, name: str, count: int) -> list[ProcessInfo]:
        """Add or remove instances of NAME until COUNT run (newest removed first)."""
        procs = [p for p in self._procs.values() if p.spec.name == name]
        if not procs:
            raise UnknownTarget(f"process not found: {name}")
        count = max(0, count)
        if count > len(procs):
            spec = procs[0].spec
            async with self._table_lock:
                extra = [self._create(spec) for _ in range(count - len(procs))]
            self._triggers.resume(extra)
            await self._each(extra, ManagedProcess.start)
        elif count < len(procs):
            await self._remove(sorted(procs, key=lambda p: p.id)[count:])
        return [p.info() for p in self._procs.values() if p.spec.name == name]

    def kill_now(self) -> None:
        """SIGKILL every process tree at once; pending stops then finish immediately."""
        self.closing = True
        for proc in self._procs.values():
            proc.kill_now()

    def processes(self) -> list[ManagedProcess]:
        """Every managed process, in id order."""
        return list(self._procs.values())

    # ---------------------------------------------------------------- metrics

    def history(self, pm_id: int) -> list[MetricsSample]:
        """PM_ID's recent samples, oldest first (15 min at 1 Hz), for sparklines."""
        self.get(pm_id)
        return self._sampler.history(pm_id)

    def host(self) -> HostSample | None:
        """The machine's latest CPU, memory and load figures (None before the first tick);
        sampled every tick while subscribers watch, every fifth otherwise."""
        return self._sampler.last_host

    def _targets(self) -> tuple[list[Target], set[int]]:
        running = [(p.id, p.pid, p.token) for p in self._procs.values()]
        return [Target(i, pid, tok) for i, pid, tok in running if pid and tok], self.managed

    def _sampled(self, samples: list[MetricsSample], host: HostSample | None) -> None:
        latest = {sample.id: sample for sample in samples}
        for proc in self._procs.values():
            sample = latest.get(proc.id)
            proc.cpu, proc.memory = (sample.cpu, sample.memory) if sample else (None, None)
            if sample is not None:
                proc.cpu_seconds += sample.cpu_seconds
        for sample in samples:
            self.publish(sample)
        if host is not None:
            self.publish(host)
        self._triggers.check_memory(samples)

    # --------------------------------------------------------------- helpers

    async def _on(
        self, target: str, action: Action, first: Callable[[list[ManagedProcess]], None]
    ) -> list[ProcessInfo]:
        procs = self.resolve(target)
        first(procs)  # watching and cron follow the command, before it takes effect
        await self._each(procs, action)
        return [p.info() for p in procs]

    _each = staticmethod(each)

    def stats(self) -> dict[str, int]:
        """Counters for `corral metrics`: subscribers now, log lines written and missed."""
        return {
            "subscribers": self._hub.subscribers,
            "log_lines_written": self.logs.lines_written,
            "log_lines_dropped": self._hub.lines_dropped,
        }

    def counts(self) -> dict[ProcessState, int]:
        """How many processes are in each state."""
        out: dict[ProcessState, int] = {}
        for proc in self._procs.values():
            out[proc.state] = out.get(proc.state, 0) + 1
        return out

    async def list(self) -> list[ProcessInfo]:  # last: the name shadows the builtin below it
        """Every process, in id order."""
        return [p.info() for p in self._procs.values()]
