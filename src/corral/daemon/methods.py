"""Provides RpcDispatcher: each RPC method checks its params, runs the Supervisor command of
the same name, and turns the ProcessInfos it returns into rows.

It never reaches into a process: what a command does (triggers, counters, reasons, events)
is the Supervisor's, the same as in `corral up`. Methods that change the process table run
one at a time (one lock for the daemon), so commands from concurrent clients interleave
whole and the table stays consistent; reads (`ping`, `list`) never wait for them. A method
raises `MethodError` for anything the client should hear about.

Methods and params (every `targets` is a non-empty list of ids, names, namespaces, `all`):

    ping     {take_notice?}                -> {pong, pid, version, protocol, home, processes,
                                               notice?, persistence?}  notice: crash recovery,
                                               told once; persistence: why state.json or
                                               dump.json cannot be written (while it lasts)
    list     {targets?, scrape?}           -> [row]   (see rows.py)  scrape: a metrics
                                               exporter reads: 1 Hz figures a while
    add      {specs: [spec], replace?}     -> [row]   replace: a running name restarts with it
    restore  {entries: [{spec, status, id?, watch_on?, paused?}]} -> [row]  one process per
                                               entry (update, resurrect); a free id is reused
    start    {targets, deps?}              -> [row]   deps: wait (default) | with | ignore
    stop|reset|delete {targets}            -> [row]
    restart  {targets, env?, toggle_watch?, cron_restart?} -> [row]  env: layered over each
                                               spec's env; cron_restart "0" removes the cron
    reload   {targets, env?}               -> [row]   env files read again
    signal   {signal, targets}             -> [row]
    scale    {name, count: N|"+N"|"-N"}    -> [row]
    kill                                   -> [row]   stops every app; the daemon then exits
    flush    {targets?}                    -> [row]   empties their log files (all without targets)
    reload_logs                            -> {reopened}  reopens every log file
    history  {id}                          -> [metrics event]  the sampler's ring, oldest first
    host                                   -> host event | null
    save     {force?}                      -> {path, saved}   writes dump.json now
    cleardump                              -> {path}          saves an empty list
"""

from __future__ import annotations

import asyncio
import os
import pwd
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import corral
from corral.daemon import protocol
from corral.daemon.rows import row
from corral.daemon.specs import spec_from_wire
from corral.engine.api import BadArgument, ReloadFailed, Restored, StartError, UnknownTarget
from corral.engine.events import ProcessInfo, event_to_dict
from corral.engine.gate import DEPS_MODES
from corral.engine.logfiles import link_refusal, linked_paths
from corral.engine.supervisor import Supervisor

if TYPE_CHECKING:
    from corral.persist.keeper import Keeper

Params = dict[str, Any]
Handler = Callable[[Params], Awaitable[Any]]

MUTATING = frozenset(
    {"add", "restore", "start", "stop", "restart", "reload", "reset", "delete", "signal"}
    | {"scale", "kill"}
)


class MethodError(Exception):
    """An error the client should see, with its protocol code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _bad(message: str) -> MethodError:
    return MethodError(protocol.ErrorCode.BAD_PARAMS, message)


def _targets(params: Params) -> list[str]:
    targets = params.get("targets")
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, list) or not targets:
        raise _bad("targets must be a non-empty list of strings")
    if not all(isinstance(t, str) and t for t in targets):
        raise _bad("targets must be a non-empty list of strings")
    return targets


def _env(params: Params) -> dict[str, str] | None:
    """restart/reload --update-env: the CLI's environment, checked."""
    env = params.get("env")
    if env is None:
        return None
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise _bad("env must be an object of strings")
    return env


def _restored(entry: object) -> Restored:
    if not isinstance(entry, dict):
        raise ValueError("an entry must be an object")
    pm_id, watch_on, paused = entry.get("id"), entry.get("watch_on"), entry.get("paused")
    return Restored(
        spec_from_wire(entry.get("spec")),
        str(entry.get("status")),
        pm_id if type(pm_id) is int else None,
        watch_on if isinstance(watch_on, bool) else None,
        paused if isinstance(paused, bool) else None,
    )


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


class RpcDispatcher:
    """The daemon's RPC surface: one Supervisor command per method."""

    def __init__(self, supervisor: Supervisor, keeper: Keeper | None = None) -> None:
        self.sup = supervisor
        self.keeper = keeper
        """Keeps state.json and dump.json (None: no persistence, as in tests)."""
        self.notice: str | None = None
        """What crash recovery did; told once, to the CLI that started this daemon."""
        self.home = supervisor.home
        self.user = _user()
        self.killing = False
        """Set by `kill`: the server shuts down once the reply is sent."""
        self._lock = asyncio.Lock()
        self._table: dict[str, Handler] = {
            "ping": self.ping,
            "list": self.list_rows,
            "add": self.add,
            "restore": self.restore,
            "start": self.start,
            "stop": self.stop,
            "flush": self.flush,
            "history": self.history,
            "tail": self.tail,
            "host": self.host,
            "reload_logs": self.reload_logs,
            "restart": self.restart,
            "reload": self.reload,
            "reset": self.reset,
            "delete": self.delete,
            "signal": self.signal,
            "scale": self.scale,
            "kill": self.kill,
            "save": self.save,
            "cleardump": self.cleardump,
        }

    async def call(self, method: str, params: Params) -> Any:
        """Run METHOD; raises MethodError for anything the client should hear about."""
        handler = self._table.get(method)
        if handler is None:
            raise MethodError(protocol.ErrorCode.UNKNOWN_METHOD, f"unknown method {method!r}")
        if self.killing and method != "ping":
            raise MethodError(protocol.ErrorCode.BUSY, "the daemon is shutting down")
        try:
            if method in MUTATING:
                async with self._lock:
                    try:
                        return await handler(params)
                    finally:
                        if self.keeper is not None:
                            self.keeper.flush_state()  # on disk before the client hears back
            return await handler(params)
        except UnknownTarget as exc:
            raise MethodError(protocol.ErrorCode.UNKNOWN_TARGET, str(exc)) from None
        except BadArgument as exc:
            raise _bad(str(exc)) from None
        except (StartError, ReloadFailed) as exc:
            raise MethodError(protocol.ErrorCode.FAILED, str(exc)) from None
        except OSError as exc:  # the system refused (a kill, a file): the method failed
            raise MethodError(protocol.ErrorCode.FAILED, str(exc)) from None

    def rows(self, infos: Iterable[ProcessInfo]) -> list[dict[str, Any]]:
        """Wire rows for INFOS (CPU and memory come from the engine's 1 s sampler)."""
        return [row(info, self.home, self.user) for info in infos]

    # ------------------------------------------------------------------ reads

    async def ping(self, params: Params) -> dict[str, Any]:
        notice, told = self.notice, params.get("take_notice") is True
        if told:
            self.notice = None
        trouble = self.keeper.trouble if self.keeper is not None else None
        return {
            **({"notice": notice} if told and notice else {}),
            **({"persistence": trouble} if trouble else {}),
            "pong": True,
            "pid": os.getpid(),
            "version": corral.__version__,
            "protocol": protocol.PROTOCOL_VERSION,
            "home": self.sup.home,
            "processes": sum(self.sup.counts().values()),
            "stats": {
                **self.sup.stats(),
                "persistence_failures": self.keeper.failures if self.keeper else 0,
            },
        }

    async def list_rows(self, params: Params) -> list[dict[str, Any]]:
        targets = _targets(params) if "targets" in params else []
        if params.get("scrape") is True:
            self.sup.attend()
        return self.rows(await self.sup.list_processes(*targets))

    async def history(self, params: Params) -> list[dict[str, Any]]:
        """One process's recent samples (15 min at 1 Hz), so sparklines start full."""
        pm_id = params.get("id")
        if type(pm_id) is not int:
            raise _bad("id must be a process id")
        return [event_to_dict(sample) for sample in await self.sup.history(pm_id)]

    async def host(self, _params: Params) -> dict[str, Any] | None:
        """The machine's latest CPU, memory and load (None before the first tick)."""
        sample = await self.sup.host()
        return event_to_dict(sample) if sample else None

    # ---------------------------------------------------------------- changes

    async def add(self, params: Params) -> list[dict[str, Any]]:
        raw = params.get("specs")
        if not isinstance(raw, list) or not raw:
            raise _bad("specs must be a non-empty list")
        try:
            specs = [spec_from_wire(item) for item in raw]
        except (ValueError, TypeError) as exc:
            raise _bad(str(exc)) from None
        for spec in specs:  # refused before anything starts (opening refuses them too)
            for path in linked_paths(spec, self.sup.home):
                raise _bad(link_refusal(spec.name, path))
        return self.rows(await self.sup.add(specs, replace=params.get("replace") is True))

    async def restore(self, params: Params) -> list[dict[str, Any]]:
        """Recreate saved processes: one per entry, started unless it was stopped."""
        entries = params.get("entries")
        if not isinstance(entries, list):
            raise _bad("entries must be a list")
        try:
            saved = [_restored(entry) for entry in entries]
        except (ValueError, TypeError) as exc:
            raise _bad(str(exc)) from None
        return self.rows(await self.sup.restore(saved))

    async def start(self, params: Params) -> list[dict[str, Any]]:
        deps = params.get("deps", "wait")
        if deps not in DEPS_MODES:
            raise _bad(f"deps must be one of {', '.join(DEPS_MODES)}")
        return self.rows(await self.sup.start(*_targets(params), deps=deps))

    async def stop(self, params: Params) -> list[dict[str, Any]]:
        return self.rows(await self.sup.stop(*_targets(params)))

    async def restart(self, params: Params) -> list[dict[str, Any]]:
        cron = params.get("cron_restart")
        if cron is not None and not isinstance(cron, str):
            raise _bad("cron_restart must be a string")
        infos = await self.sup.restart(
            *_targets(params),
            env=_env(params),
            toggle_watch=params.get("toggle_watch") is True,
            cron_restart=cron,
        )
        return self.rows(infos)

    async def reload(self, params: Params) -> list[dict[str, Any]]:
        """Rolling, zero-downtime for apps with shared sockets; a restart otherwise."""
        return self.rows(await self.sup.reload(*_targets(params), env=_env(params)))

    async def tail(self, params: Params) -> dict[str, list[str]]:
        """The last `lines` lines (at most 10,000) of the `streams` files of processes `ids`,
        by file path, for `corral logs --host` (the files are on this machine)."""
        ids, streams, count = params.get("ids"), params.get("streams"), params.get("lines")
        if not isinstance(ids, list) or not all(type(i) is int for i in ids):
            raise _bad("ids must be a list of process ids")
        if not isinstance(streams, list) or not set(streams) <= {"out", "err"}:
            raise _bad("streams must be a list of 'out' and 'err'")
        if type(count) is not int or not 0 <= count <= 10_000:
            raise _bad("lines must be 0 to 10000")
        paths: list[str] = []
        for pm_id in ids:
            found = self.sup.logs.paths(pm_id)
            for stream in streams if found else ():
                path = getattr(found, stream)
                if path and path not in paths:
                    paths.append(path)
        from corral.tailfile import tail

        budget = 4 * 1024 * 1024 // max(1, len(paths))  # one reply stays a few MiB
        read = await asyncio.gather(*(asyncio.to_thread(tail, p, count, budget) for p in paths))
        return {
            path: [line.decode("utf-8", "surrogateescape") for line in lines]
            for path, lines in zip(paths, read, strict=True)
        }

    async def reset(self, params: Params) -> list[dict[str, Any]]:
        return self.rows(await self.sup.reset(*_targets(params)))

    async def delete(self, params: Params) -> list[dict[str, Any]]:
        return self.rows(await self.sup.delete(*_targets(params)))

    async def signal(self, params: Params) -> list[dict[str, Any]]:
        name = params.get("signal")
        if not isinstance(name, str | int) or isinstance(name, bool):
            raise _bad("signal must be a name or a number")
        return self.rows(await self.sup.signal(*_targets(params), signal=str(name)))

    async def scale(self, params: Params) -> list[dict[str, Any]]:
        name, count = params.get("name"), params.get("count")
        if not isinstance(name, str) or not name:
            raise _bad("name must be a string")
        text = str(count) if type(count) in (int, str) else ""
        body = text[1:] if text[:1] in ("+", "-") else text
        if not body.isdigit() or len(body) > 6:
            raise _bad("count must be N, +N or -N")
        infos = await self.sup.scale(name, int(text), relative=text[0] in "+-")
        return self.rows(infos)

    async def kill(self, _params: Params) -> list[dict[str, Any]]:
        """Stop every app (gracefully, all at once); the server exits after replying."""
        if self.keeper is not None:
            self.keeper.freeze()  # the dump keeps the apps: `resurrect` brings them back
        infos = await self.sup.kill()
        self.killing = True
        return self.rows(infos)

    async def flush(self, params: Params) -> list[dict[str, Any]]:
        """Empty the log files of the targets (all processes without targets)."""
        targets = _targets(params) if params.get("targets") else []
        return self.rows(await self.sup.flush(*targets))

    async def reload_logs(self, _params: Params) -> dict[str, Any]:
        """Reopen every log file (after an external logrotate moved them)."""
        await self.sup.reload_logs()
        return {"reopened": True}

    # ------------------------------------------------------------------- dump

    async def save(self, params: Params) -> dict[str, Any]:
        """Write dump.json now (an empty list only with force, as PM2)."""
        from corral.persist.dump import EmptyList

        keeper = self._keeper()
        try:
            path, count = await keeper.save(force=params.get("force") is True)
        except EmptyList as exc:
            raise MethodError(protocol.ErrorCode.FAILED, str(exc)) from None
        except OSError as exc:
            raise MethodError(protocol.ErrorCode.FAILED, f"cannot save: {exc}") from None
        return {"path": path, "saved": count}

    async def cleardump(self, _params: Params) -> dict[str, Any]:
        """Save an empty list; the previous one stays as dump.json.bak."""
        try:
            return {"path": await self._keeper().clear()}
        except OSError as exc:
            raise MethodError(protocol.ErrorCode.FAILED, f"cannot clear: {exc}") from None

    def _keeper(self) -> Keeper:
        if self.keeper is None:
            raise MethodError(protocol.ErrorCode.FAILED, "this daemon keeps no dump")
        return self.keeper
