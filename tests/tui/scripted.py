"""Provides ScriptedAPI: a SupervisorAPI whose events come from a fixed script.

Snapshot tests need the same screen on every run: fixed processes, fixed metrics, fixed
log lines, fixed times. Commands are recorded, not executed, so tests can assert on
exactly what the UI asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from corral.config.spec import AppSpec, Probe
from corral.engine.api import SupervisorAPI
from corral.engine.events import (
    Event,
    HostSample,
    Lifecycle,
    LogLines,
    MetricsSample,
    ProbeChecked,
    ProbeStatus,
    ProcessInfo,
    RestartReason,
    StateChanged,
)
from corral.engine.gate import DepsMode
from corral.engine.states import ProcessState

T0 = 1_790_000_000.0
"""A fixed wall-clock origin (the tests run under TZ=UTC)."""
NOW = T0 + 3725.0
"""The fixed "now" the app's clock returns: uptimes read the same on every run."""
GiB = 1024**3
MiB = 1024**2


def spec(name: str, **kw: Any) -> AppSpec:
    """A spec with stable paths (nothing is run)."""
    base = AppSpec(name=name, script=f"/srv/demo/{name}.py", cwd="/srv/demo")
    return replace(base, **kw)


def info(pm_id: int, app: AppSpec, status: ProcessState, **kw: Any) -> ProcessInfo:
    """A process snapshot with sensible defaults for a running instance."""
    fields: dict[str, Any] = {
        "id": pm_id,
        "name": app.name,
        "namespace": app.namespace,
        "instance": 0,
        "status": status,
        "pid": 4000 + pm_id if status is ProcessState.ONLINE else None,
        "restarts": 0,
        "unstable_restarts": 0,
        "started_at": T0 + 5 if status is ProcessState.ONLINE else None,
        "created_at": T0,
        "spec": app,
        "env": {},
    }
    fields.update(kw)
    return ProcessInfo(**fields)


def wave(pm_id: int, count: int, base: float, swing: float) -> list[float]:
    """A deterministic saw-tooth series, different per process."""
    return [base + swing * (((i + pm_id * 3) % 10) / 9) for i in range(count)]


def demo_events(samples: int = 40) -> list[Event]:
    """Four apps: a two-instance cluster, a worker, an errored app, a leaker with a limit."""
    web = spec("web", instances=2, env={"PORT": "8000", "SECRET": "x"})
    worker = spec("worker", namespace="jobs")
    flaky = spec("flaky", exp_backoff_restart_delay=200)
    leaker = spec("leaker", max_memory_restart=200 * MiB, cron_restart="0 3 * * *")
    crash = RestartReason(T0 + 60, "crash", "exit code 1")
    gave_up = RestartReason(T0 + 95, "errored", "16 unstable restarts in a row")
    memory = RestartReason(T0 + 1800, "memory", "memory 212M > limit 200M")
    infos = [
        info(0, web, ProcessState.ONLINE, instance=0),
        info(1, web, ProcessState.ONLINE, instance=1, started_at=T0 + 3600),
        info(2, worker, ProcessState.ONLINE, restarts=1, reasons=(crash,)),
        info(
            3,
            flaky,
            ProcessState.ERRORED,
            restarts=16,
            reasons=(crash, gave_up),
            exit_code=1,
            unstable_restarts=16,
        ),
        info(4, leaker, ProcessState.ONLINE, restarts=3, reasons=(memory,), next_cron=T0 + 86400),
    ]
    events: list[Event] = [StateChanged(i, T0) for i in infos]
    for n in range(samples):
        ts = T0 + 3725 - samples + n
        for i in infos:
            if i.pid is None:
                continue
            cpu = wave(i.id, samples, 2.0 + i.id, 10.0)[n]
            memory_bytes = int((30 + 4 * i.id + (n if i.name == "leaker" else n % 5)) * MiB)
            events.append(MetricsSample(i.id, ts, cpu, memory_bytes, cpu, memory_bytes))
    events.append(HostSample(T0 + 3725, 23.5, 6 * GiB, 16 * GiB, (0.52, 0.48, 0.41)))
    lines: list[tuple[int, str, Literal["out", "err"], bytes]] = [
        (0, "web", "out", b"listening on :8000"),
        (2, "worker", "out", b"job 41 done in 35 ms"),
        (1, "web", "out", b"GET /health 200 0.4ms"),
        (2, "worker", "err", b"job 42: retrying a slow upstream"),
        (0, "web", "out", b"\x1b[32mGET /\x1b[0m 200 [cached] [red]not markup[/red]"),
        (4, "leaker", "out", b"holding 212 chunks"),
        (2, "worker", "out", b"progress 10%\rprogress 55%\rprogress 100%"),
        (0, "web", "out", b"payload " + b"x" * 300),
        (4, "leaker", "err", b"warning: cache grew past 200M"),
    ]
    for n, (pm_id, name, stream, data) in enumerate(lines):
        events.append(LogLines.of(pm_id, name, stream, T0 + 3700 + n, (data,)))
    events.append(Lifecycle(3, "flaky", T0 + 95, "errored: 16 unstable restarts", "error"))
    events.append(Lifecycle(4, "leaker", T0 + 3710, "restarting: memory 212M > limit 200M", "warn"))
    return events


def stack() -> list[Event]:
    """A small stack with probes: a db whose readiness probe has not passed yet, a web app
    waiting for it to be ready, an api whose liveness probe has failed twice of three."""
    ready = Probe("exec", "test -f /run/db.ready", period=1000)
    health = Probe("http", "http://127.0.0.1:8000/health", period=2000, failure_threshold=3)
    db = spec("db", readiness_probe=ready)
    api = spec("api", readiness_probe=Probe("tcp", "127.0.0.1:8000"), liveness_probe=health)
    web = spec("web", depends_on={"db": "ready"})
    timed_out = f"GET {health.target} timed out after 1s"
    not_yet = f"exec {ready.target} exited with code 1"
    db_ready = ProbeStatus("readiness", "exec", ready.target, "failing", "failed", 4, not_yet)
    db_ready = replace(db_ready, last_at=NOW - 1, running=True)
    api_ready = ProbeStatus("readiness", "tcp", "127.0.0.1:8000", "ok", "ok", 0, None, NOW - 90)
    failing = ProbeStatus("liveness", "http", health.target, "pending", "failed", 2, timed_out)
    failing = replace(failing, last_at=NOW - 1, running=True)
    db_info = info(0, db, ProcessState.LAUNCHING, pid=4000, probe={"readiness": db_ready})
    infos = [
        replace(db_info, started_at=NOW - 5),
        info(1, api, ProcessState.ONLINE, probe={"readiness": api_ready}),
        info(2, web, ProcessState.WAITING, waiting_for=("db ready",)),
    ]
    events: list[Event] = [StateChanged(i, T0) for i in infos]
    events.append(ProbeChecked(1, "api", NOW - 1, failing))  # the live event, not the snapshot
    for n in range(20):
        for i in infos[:2]:
            memory = (40 + 10 * i.id + n % 3) * MiB
            events.append(MetricsSample(i.id, NOW - 20 + n, 1.0 + i.id, memory, 1.0, memory))
    events.append(Lifecycle(0, "db", NOW - 4, f"readiness: {not_yet} (3 in a row)", "warn"))
    for n in (1, 2):
        said = f"liveness: {timed_out} ({n} of 3)"
        events.append(Lifecycle(1, "api", NOW - 5 + 2 * n, said, "warn"))
    return events


def many(count: int = 50) -> list[Event]:
    """COUNT one-instance apps with a few seconds of metrics and a log line each."""
    events: list[Event] = []
    for n in range(count):
        app = spec(f"svc-{n:02d}", max_memory_restart=(100 * MiB if n % 5 == 0 else None))
        state = ProcessState.ERRORED if n == 7 else ProcessState.ONLINE
        events.append(StateChanged(info(n, app, state, restarts=n % 3), T0))
    for t in range(10):
        for n in range(count):
            if n != 7:
                memory = (20 + n + t) * MiB
                events.append(
                    MetricsSample(n, NOW - 10 + t, float(n % 9 * 10), memory, 0.0, memory)
                )
    events += [LogLines.of(n, f"svc-{n:02d}", "out", NOW, (b"ready",)) for n in range(count)]
    return events


class ScriptedAPI:
    """Replays EVENTS to each subscriber, then waits; records every command."""

    def __init__(self, events: Sequence[Event] | None = None) -> None:
        self.script = list(demo_events() if events is None else events)
        self.calls: list[tuple[object, ...]] = []
        self.delivered = False
        """Every scripted event was taken: the subscriber came back for more after the last."""

    async def events(self) -> AsyncIterator[Event]:
        for event in self.script:
            yield event
        self.delivered = True
        await asyncio.Event().wait()  # a live stream that stays quiet

    async def _record(self, *call: object) -> list[ProcessInfo]:
        self.calls.append(call)
        return []

    async def add(self, specs: Sequence[AppSpec], *, replace: bool = False) -> list[ProcessInfo]:
        return await self._record("add", len(specs))

    async def start(self, *targets: str, deps: DepsMode = "wait") -> list[ProcessInfo]:
        return await self._record("start", *targets)

    async def stop(self, *targets: str) -> list[ProcessInfo]:
        return await self._record("stop", *targets)

    async def restart(
        self,
        *targets: str,
        env: Mapping[str, str] | None = None,
        toggle_watch: bool = False,
        cron_restart: str | None = None,
    ) -> list[ProcessInfo]:
        return await self._record("restart", *targets)

    async def reload(
        self, *targets: str, env: Mapping[str, str] | None = None
    ) -> list[ProcessInfo]:
        return await self._record("reload", *targets)

    async def delete(self, *targets: str) -> list[ProcessInfo]:
        return await self._record("delete", *targets)

    async def signal(self, *targets: str, signal: str) -> list[ProcessInfo]:
        return await self._record("signal", *targets, signal)

    async def reset(self, *targets: str) -> list[ProcessInfo]:
        return await self._record("reset", *targets)

    async def scale(self, name: str, count: int, *, relative: bool = False) -> list[ProcessInfo]:
        return await self._record("scale", name, count)

    async def list_processes(self, *targets: str) -> list[ProcessInfo]:
        return [e.info for e in self.script if isinstance(e, StateChanged)]

    async def history(self, pm_id: int) -> list[MetricsSample]:
        """The script's samples already carry the history: nothing more to give."""
        return []

    async def host(self) -> HostSample | None:
        """None: the header waits for the script's HostSample, as it would for a tick."""
        return None


def _checked(api: ScriptedAPI) -> SupervisorAPI:
    """Never called: mypy checks here that ScriptedAPI still implements SupervisorAPI."""
    return api


class LiveScript(ScriptedAPI):
    """ScriptedAPI whose stream goes on: tests `push` more events while the app runs."""

    def __init__(self, events: Sequence[Event] | None = None) -> None:
        super().__init__(events)
        self._more: asyncio.Queue[Event] = asyncio.Queue()

    def push(self, events: Sequence[Event]) -> None:
        """Send EVENTS to the subscriber, as a backend would."""
        self.delivered = False
        for event in events:
            self._more.put_nowait(event)

    async def events(self) -> AsyncIterator[Event]:
        for event in self.script:
            yield event
        while True:
            if self._more.empty():  # the subscriber took every event and asks for more
                self.delivered = True
            yield await self._more.get()
