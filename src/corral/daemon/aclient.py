"""Provides AsyncClient: SupervisorAPI over the daemon's socket, for the TUI (`corral monit`).

Each command opens its own short connection (connect + hello is well under a
millisecond on a Unix socket), so commands from different widgets run concurrently
and a slow `stop` never holds up a `list`. `events()` holds one subscribed connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import corral
from corral.config.spec import AppSpec
from corral.daemon import protocol
from corral.daemon.client import DaemonError, NotRunning
from corral.daemon.trust import check_home, check_peer
from corral.engine.api import BadArgument, Restored, UnknownTarget
from corral.engine.events import Event, HostSample, MetricsSample, ProcessInfo, event_from_dict
from corral.engine.gate import DepsMode
from corral.home import Home, home
from corral.sockpath import reachable

READ_LIMIT = 256 * 1024 * 1024
"""Replies can be large (`list` of many apps with their environments)."""

Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class AsyncClient:
    """The daemon as a SupervisorAPI: the same commands, raising UnknownTarget and
    BadArgument where the engine does (DaemonError for what only a daemon can fail at)."""

    def __init__(
        self,
        where: Home | None = None,
        *,
        window_ms: int | None = None,
        opener: Opener | None = None,
    ) -> None:
        self.where = where or home()
        self.window_ms = window_ms
        """How long the daemon gathers events into one message (None: its default)."""
        self.opener = opener or self._unix
        """Opens one byte stream to the daemon (its socket here; ssh for another host)."""

    async def _unix(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to our own user's daemon (Untrusted, before sending, otherwise)."""
        check_home(self.where.root, self.where.socket)
        try:
            with reachable(self.where.socket) as path:
                reader, writer = await asyncio.open_unix_connection(path, limit=READ_LIMIT)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NotRunning(f"no daemon answers on {self.where.socket}") from exc
        try:
            check_peer(writer.get_extra_info("socket"), self.where.socket)
        except BaseException:
            writer.close()
            raise
        return reader, writer

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await self.opener()
        writer.write(protocol.encode(protocol.hello()))
        message = await _receive(reader)
        if "error" in message:
            writer.close()
            raise _error(message["error"])
        try:
            daemon = protocol.parse_hello(message)
        except protocol.ProtocolError as exc:
            writer.close()
            raise DaemonError(exc.code, f"not a corral daemon: {exc}") from None
        if daemon.version != protocol.PROTOCOL_VERSION:
            writer.close()
            raise DaemonError(
                protocol.ErrorCode.HANDSHAKE,
                f"the daemon speaks protocol {daemon.version} (corral {daemon.corral}), this "
                f"one speaks {protocol.PROTOCOL_VERSION} (corral {corral.__version__}): "
                "run 'corral update' where the older one is",
            )
        return reader, writer

    async def call(self, method: str, **params: Any) -> Any:
        """One request on a fresh connection; raises UnknownTarget or DaemonError."""
        reader, writer = await self._open()
        try:
            writer.write(protocol.encode(protocol.request(1, method, params)))
            await writer.drain()
            while True:
                message = await _receive(reader)
                if message.get("id") == 1:
                    break
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        if "error" in message:
            raise _error(message["error"])
        return message.get("result")

    async def _infos(self, method: str, **params: Any) -> list[ProcessInfo]:
        rows = await self.call(method, **params)
        return [ProcessInfo.from_dict(row) for row in rows]

    async def add(self, specs: Sequence[AppSpec], *, replace: bool = False) -> list[ProcessInfo]:
        return await self._infos("add", specs=[s.to_dict() for s in specs], replace=replace)

    async def restore(self, saved: Sequence[Restored]) -> list[ProcessInfo]:
        """Bring back saved processes (see Supervisor.restore)."""
        entries = [
            {
                "spec": e.spec.to_dict(),
                "status": e.status,
                "id": e.id,
                "watch_on": e.watch_on,
                "paused": e.paused,
            }
            for e in saved
        ]
        return await self._infos("restore", entries=entries)

    async def start(self, *targets: str, deps: DepsMode = "wait") -> list[ProcessInfo]:
        options = {} if deps == "wait" else {"deps": deps}
        return await self._infos("start", targets=list(targets), **options)

    async def stop(self, *targets: str) -> list[ProcessInfo]:
        return await self._infos("stop", targets=list(targets))

    async def restart(
        self,
        *targets: str,
        env: Mapping[str, str] | None = None,
        toggle_watch: bool = False,
        cron_restart: str | None = None,
    ) -> list[ProcessInfo]:
        options: dict[str, Any] = {"toggle_watch": toggle_watch}
        if env is not None:
            options["env"] = dict(env)
        if cron_restart is not None:
            options["cron_restart"] = cron_restart
        return await self._infos("restart", targets=list(targets), **options)

    async def reload(
        self, *targets: str, env: Mapping[str, str] | None = None
    ) -> list[ProcessInfo]:
        options = {} if env is None else {"env": dict(env)}
        return await self._infos("reload", targets=list(targets), **options)

    async def delete(self, *targets: str) -> list[ProcessInfo]:
        return await self._infos("delete", targets=list(targets))

    async def signal(self, *targets: str, signal: str) -> list[ProcessInfo]:
        return await self._infos("signal", signal=signal, targets=list(targets))

    async def reset(self, *targets: str) -> list[ProcessInfo]:
        return await self._infos("reset", targets=list(targets))

    async def scale(self, name: str, count: int, *, relative: bool = False) -> list[ProcessInfo]:
        return await self._infos("scale", name=name, count=f"{count:+d}" if relative else count)

    async def history(self, pm_id: int) -> list[MetricsSample]:
        """PM_ID's recent samples from the daemon's ring, oldest first."""
        raw = await self.call("history", id=pm_id)
        return [s for s in map(event_from_dict, raw or []) if isinstance(s, MetricsSample)]

    async def host(self) -> HostSample | None:
        """The daemon machine's latest CPU, memory and load."""
        raw = await self.call("host")
        sample = event_from_dict(raw) if raw else None
        return sample if isinstance(sample, HostSample) else None

    async def list_processes(self, *targets: str) -> list[ProcessInfo]:
        return await self._infos("list", **({"targets": list(targets)} if targets else {}))

    async def events(self) -> AsyncIterator[Event]:
        """Every process's state first, then live events, until the daemon goes away."""
        reader, writer = await self._open()
        try:
            params = {} if self.window_ms is None else {"window_ms": self.window_ms}
            writer.write(protocol.encode(protocol.request(1, "subscribe", params)))
            await writer.drain()
            while True:
                message = await _receive(reader)
                if "events" in message:
                    for data in message["events"]:
                        yield _event(data)
                elif "error" in message:
                    raise _error(message["error"])
        finally:
            writer.close()


async def _receive(reader: asyncio.StreamReader) -> dict[str, Any]:
    line = await reader.readline()
    if not line.endswith(b"\n"):
        raise NotRunning("the daemon closed the connection")
    try:
        return protocol.decode(line)
    except protocol.ProtocolError as exc:
        raise DaemonError(exc.code, f"the daemon sent a bad message: {exc}") from None


def _event(data: object) -> Event:
    """One event of a `subscribe` stream; a malformed one is the daemon's error (a
    DaemonError, so front ends need to expect only BACKEND_ERRORS)."""
    try:
        if not isinstance(data, dict):
            raise TypeError(f"an event must be an object, not {type(data).__name__}")
        return event_from_dict(data)
    except (LookupError, TypeError, ValueError) as exc:
        raise DaemonError(
            protocol.ErrorCode.BAD_JSON, f"the daemon sent a bad event: {exc!r}"
        ) from None


def _error(body: object) -> Exception:
    code = str(body.get("code")) if isinstance(body, dict) else "error"
    message = str(body.get("message")) if isinstance(body, dict) else str(body)
    if code == protocol.ErrorCode.UNKNOWN_TARGET:
        return UnknownTarget(message)
    if code == protocol.ErrorCode.BAD_PARAMS:
        return BadArgument(message)
    return DaemonError(code, message)
