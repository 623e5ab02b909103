"""Provides FleetAPI: several hosts' daemons as one SupervisorAPI, for `corral monit HOST…`.

Each host is an AsyncClient over `ssh HOST corral dial-stdio`. The monitor sees one
table: each (host, id) gets a fleet id in the order the monitor first sees it (0, 1, 2,
… as on one machine; they never collide, are never reused, and route back), and its name
is `HOST/NAME`, which sorts and groups the table by
host and marks every tail line with its host without the UI knowing about hosts. A
command goes to the host its target names (`HOST/NAME` or a global id; `all` goes to
every connected host). A host whose stream ends is shown as disconnected (a tail line
with the reason, its processes leave the table) and is dialled again with backoff
(1 s doubling to 30 s) while the others go on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

from corral.config.spec import AppSpec
from corral.daemon.aclient import AsyncClient
from corral.daemon.client import DaemonError
from corral.daemon.remote import AsyncSshOpener
from corral.engine.api import BACKEND_ERRORS, BadArgument, UnknownTarget
from corral.engine.events import (
    Event,
    HostSample,
    Lifecycle,
    LogLines,
    MetricsSample,
    ProbeChecked,
    ProcessInfo,
    Removed,
    StateChanged,
)
from corral.engine.gate import DepsMode


class FleetIds:
    """Fleet ids for (host index, the host's id) pairs, given out in order of first sight."""

    def __init__(self) -> None:
        self._ids: dict[tuple[int, int], int] = {}
        self._pairs: list[tuple[int, int]] = []

    def of(self, host: int, local: int) -> int:
        """The fleet id of HOST's process LOCAL (-1, the supervisor's own, stays -1)."""
        if local < 0:
            return local
        key = (host, local)
        if key not in self._ids:
            self._ids[key] = len(self._pairs)
            self._pairs.append(key)
        return self._ids[key]

    def pair(self, fleet_id: int) -> tuple[int, int] | None:
        """(host index, the host's id) of FLEET_ID, None when unknown."""
        return self._pairs[fleet_id] if 0 <= fleet_id < len(self._pairs) else None


RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0


class Host:
    """One remote daemon: its client, and what the monitor currently shows of it."""

    def __init__(
        self, index: int, spec: str, client: AsyncClient, opener: AsyncSshOpener, ids: FleetIds
    ) -> None:
        self.index = index
        self.ids = ids
        self.spec = spec
        self.client = client
        self.opener = opener
        self.connected = False
        self.reason: str | None = None
        """Why the host is disconnected (None while connected or before the first try)."""
        self.names: dict[int, str] = {}
        """The global id and shown name of each of its processes the monitor knows."""

    def gid(self, local: int) -> int:
        return self.ids.of(self.index, local)

    def name(self, local: str) -> str:
        return f"{self.spec}/{local}"

    def info(self, info: ProcessInfo) -> ProcessInfo:
        return dataclasses.replace(info, id=self.gid(info.id), name=self.name(info.name))


class FleetAPI:
    """SupervisorAPI over several hosts (see the module docstring)."""

    def __init__(
        self,
        hosts: Sequence[str],
        *,
        window_ms: int | None = None,
        opener: Callable[[str, str], AsyncSshOpener] = AsyncSshOpener,
    ) -> None:
        self._control = tempfile.TemporaryDirectory(prefix="corral-ssh-")
        self.ids = FleetIds()
        self.hosts: list[Host] = []
        for index, spec in enumerate(dict.fromkeys(hosts)):
            dial = opener(spec, self._control.name)
            client = AsyncClient(window_ms=window_ms, opener=dial)
            self.hosts.append(Host(index, spec, client, dial, self.ids))

    async def aclose(self) -> None:
        """End every ssh connection still open (call on the loop that used them)."""
        await asyncio.gather(*(host.opener.aclose() for host in self.hosts))

    def close(self) -> None:
        """Forget the ssh control sockets' folder (the masters end with their sessions)."""
        for host in self.hosts:
            host.opener.close()
        self._control.cleanup()

    # ---------------------------------------------------------------- routing

    def _route(self, target: str) -> list[tuple[Host, str]]:
        if target == "all":
            return [(h, "all") for h in self.hosts if h.connected]
        if target.isdigit():
            found = self.ids.pair(int(target))
            if found is not None:
                return [(self.hosts[found[0]], str(found[1]))]
        for host in self.hosts:
            prefix = f"{host.spec}/"
            if target.startswith(prefix) and len(target) > len(prefix):
                return [(host, target[len(prefix) :])]
        raise UnknownTarget(f"process not found: {target} (targets here are HOST/NAME or an id)")

    async def _fan(
        self,
        targets: Sequence[str],
        call: Callable[[AsyncClient, list[str]], Awaitable[list[ProcessInfo]]],
    ) -> list[ProcessInfo]:
        """CALL once on each host TARGETS name, with that host's own targets (every target
        is routed first, so an unknown one changes nothing); every host is tried, then
        the first error raised."""
        if not targets:
            raise BadArgument("no target given")
        per_host: dict[int, tuple[Host, list[str]]] = {}
        for target in targets:
            for host, local in self._route(target):
                per_host.setdefault(host.index, (host, []))[1].append(local)
        routes = list(per_host.values())
        results = await asyncio.gather(
            *(call(host.client, local) for host, local in routes), return_exceptions=True
        )
        out: list[ProcessInfo] = []
        errors: list[BaseException] = []
        for (host, _), result in zip(routes, results, strict=True):
            if isinstance(result, BaseException):
                errors.append(result)
            else:
                out += [host.info(info) for info in result]
        if errors:
            raise errors[0]
        return out

    # --------------------------------------------------------------- commands

    async def add(self, specs: Sequence[AppSpec], *, replace: bool = False) -> list[ProcessInfo]:
        raise DaemonError("bad_params", "apps are added on each host, not through the fleet view")

    async def start(self, *targets: str, deps: DepsMode = "wait") -> list[ProcessInfo]:
        return await self._fan(targets, lambda c, t: c.start(*t, deps=deps))

    async def stop(self, *targets: str) -> list[ProcessInfo]:
        return await self._fan(targets, lambda c, t: c.stop(*t))

    async def restart(
        self,
        *targets: str,
        env: Mapping[str, str] | None = None,
        toggle_watch: bool = False,
        cron_restart: str | None = None,
    ) -> list[ProcessInfo]:
        return await self._fan(
            targets,
            lambda c, t: c.restart(
                *t, env=env, toggle_watch=toggle_watch, cron_restart=cron_restart
            ),
        )

    async def reload(
        self, *targets: str, env: Mapping[str, str] | None = None
    ) -> list[ProcessInfo]:
        return await self._fan(targets, lambda c, t: c.reload(*t, env=env))

    async def delete(self, *targets: str) -> list[ProcessInfo]:
        return await self._fan(targets, lambda c, t: c.delete(*t))

    async def signal(self, *targets: str, signal: str) -> list[ProcessInfo]:
        return await self._fan(targets, lambda c, t: c.signal(*t, signal=signal))

    async def reset(self, *targets: str) -> list[ProcessInfo]:
        return await self._fan(targets, lambda c, t: c.reset(*t))

    async def scale(self, name: str, count: int, *, relative: bool = False) -> list[ProcessInfo]:
        [(host, local)] = self._route(name)
        scaled = await host.client.scale(local, count, relative=relative)
        return [host.info(i) for i in scaled]

    async def list_processes(self, *targets: str) -> list[ProcessInfo]:
        if not targets:
            return await self._fan(["all"], lambda c, _t: c.list_processes())
        return await self._fan(targets, lambda c, t: c.list_processes(*t))

    async def history(self, pm_id: int) -> list[MetricsSample]:
        found = self.ids.pair(pm_id)
        if found is None:
            raise UnknownTarget(f"no process with id {pm_id}")
        host, local = self.hosts[found[0]], found[1]
        return [dataclasses.replace(s, id=pm_id) for s in await host.client.history(local)]

    async def host(self) -> HostSample | None:
        """The first connected host's figures (the header shows one machine)."""
        for host in self.hosts:
            if host.connected:
                return await host.client.host()
        return None

    # ----------------------------------------------------------------- events

    async def events(self) -> AsyncIterator[Event]:
        """Every host's events, merged as they come; hosts that drop are redialled."""
        queue: asyncio.Queue[Event] = asyncio.Queue(10_000)
        pumps = [asyncio.create_task(self._pump(host, queue)) for host in self.hosts]
        try:
            while True:
                yield await queue.get()
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def _pump(self, host: Host, queue: asyncio.Queue[Event]) -> None:
        delay = RETRY_FIRST_S
        while True:
            try:
                async for event in host.client.events():
                    if not host.connected:
                        host.connected, host.reason, delay = True, None, RETRY_FIRST_S
                        await queue.put(_note(host, f"{host.spec}: connected", "info"))
                    mapped = self._map(host, event)
                    if mapped is not None:
                        await queue.put(mapped)
                reason = "the daemon closed the connection"
            except BACKEND_ERRORS as exc:
                reason = str(exc)
            reason = host.opener.last_error() or reason
            await self._disconnected(host, reason, delay, queue)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _disconnected(
        self, host: Host, reason: str, delay: float, queue: asyncio.Queue[Event]
    ) -> None:
        host.connected, host.reason = False, reason
        now = time.time()
        for gid, name in sorted(host.names.items()):
            await queue.put(Removed(gid, name, now))
        host.names.clear()
        text = f"{host.spec} disconnected: {reason}; retrying in {delay:g} s"
        await queue.put(_note(host, text, "error"))

    def _map(self, host: Host, event: Event) -> Event | None:
        match event:
            case StateChanged():
                info = host.info(event.info)
                host.names[info.id] = info.name
                return dataclasses.replace(event, info=info)
            case Removed():
                host.names.pop(host.gid(event.id), None)
                return dataclasses.replace(event, id=host.gid(event.id), name=host.name(event.name))
            case LogLines() | Lifecycle() | ProbeChecked():
                return dataclasses.replace(event, id=host.gid(event.id), name=host.name(event.name))
            case MetricsSample():
                return dataclasses.replace(event, id=host.gid(event.id))
            case HostSample():
                return event if host is self._first_connected() else None
        return None

    def _first_connected(self) -> Host | None:
        return next((h for h in self.hosts if h.connected), None)


def _note(host: Host, message: str, level: Any) -> Lifecycle:
    return Lifecycle(-1, host.spec, time.time(), message, level)
