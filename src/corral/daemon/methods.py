"""Provides Methods: the RPC method table, each method a call on the Supervisor.

Methods that change the process table run one at a time (one lock for the daemon), so
commands from concurrent clients interleave whole and the table stays consistent; reads
(`ping`, `list`) never wait for them. A method raises `MethodError` for anything the
client should hear about; `UnknownTarget` becomes an `unknown_target` error.

Methods and params (every `targets` is a non-empty list of ids, names, namespaces, `all`):

    ping     {take_notice?}                -> {pong, pid, version, protocol, home, processes,
                                               notice?, persistence?}  notice: crash recovery,
                                               told once; persistence: why state.json or
                                               dump.json cannot be written (while it lasts)
    list     {targets?}                    -> [row]   (see rows.py)
    add      {specs: [spec], replace?}     -> [row]   replace: a running name restarts with it
    restore  {entries: [{spec, status, id?}]} -> [row] one process per entry (update, resurrect);
                                               a free id is given again
    start|stop|reload|reset|delete {targets}          -> [row]
    restart  {targets, env?}               -> [row]   env: layered over each spec's env first
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
import dataclasses
import os
import pwd
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import corral
from corral.config import limits
from corral.daemon import protocol
from corral.daemon.rows import row
from corral.daemon.specs import spec_from_wire
from corral.engine.api import ReloadFailed, StartError, UnknownTarget
from corral.engine.events import event_to_dict
from corral.engine.logfiles import link_refusal, linked_paths
from corral.engine.process import ManagedProcess
from corral.engine.run import signal_number
from corral.engine.supervisor import Supervisor, each

if TYPE_CHECKING:
    from corral.persist.keeper import Keeper

Params = dict[str, Any]
Handler = Callable[[Params], Awaitable[Any]]
Action = Callable[[ManagedProcess], Awaitable[None]]

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


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


class Methods:
    """The daemon's RPC surface over one Supervisor."""

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
            "start": self._simple(ManagedProcess.start),
            "stop": self._simple(ManagedProcess.stop),
            "reload": self.reload,
            "flush": self.flush,
            "history": self.history,
            "tail": self.tail,
            "host": self.host,
            "reload_logs": self.reload_logs,
            "restart": self.restart,
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
            "processes": len(self.sup.processes()),
            "stats": {
                **self.sup.stats(),
                "persistence_failures": self.keeper.failures if self.keeper else 0,
            },
        }

    async def list_rows(self, params: Params) -> list[dict[str, Any]]:
        procs = self._resolve(_targets(params)) if "targets" in params else self.sup.processes()
        return self.rows(procs)

    def rows(self, procs: Iterable[ManagedProcess]) -> list[dict[str, Any]]:
        """Wire rows for PROCS (CPU and memory come from the engine's 1 s sampler)."""
        return [row(p.info(), self.home, self.user) for p in procs]

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
        touched: list[ManagedProcess] = []
        fresh = []
        for spec in specs:
            running = [p for p in self.sup.processes() if p.spec.name == spec.name]
            if not (params.get("replace") and running):
                fresh.append(spec)
                continue
            # PM2: starting a name that exists restarts it, with the new options.
            for proc in running:
                proc.replace_spec(spec)
            await _each(running, ManagedProcess.restart)
            if len(running) != spec.instances:
                await self.sup.scale(spec.name, spec.instances)
            touched += [p for p in self.sup.processes() if p.spec.name == spec.name]
        try:
            added = await self.sup.add(fresh)
        except StartError as exc:
            raise MethodError(protocol.ErrorCode.FAILED, str(exc)) from None
        touched += [self.sup.get(info.id) for info in added]
        return self.rows(touched)

    async def restore(self, params: Params) -> list[dict[str, Any]]:
        """Recreate saved processes: one per entry, started unless it was stopped."""
        entries = params.get("entries")
        if not isinstance(entries, list):
            raise _bad("entries must be a list")
        try:
            saved = [(spec_from_wire(e.get("spec")), e.get("status")) for e in entries]
            ids = [e.get("id") for e in entries]
        except (ValueError, TypeError, AttributeError) as exc:
            raise _bad(str(exc)) from None
        created: list[ManagedProcess] = []
        for (spec, _status), pm_id in zip(saved, ids, strict=True):
            if type(pm_id) is int and pm_id >= 0:
                self.sup.skip_ids_to(pm_id)
            # Register stopped, then put the real spec back (instances, autostart intact).
            [info] = await self.sup.add([dataclasses.replace(spec, instances=1, autostart=False)])
            proc = self.sup.get(info.id)
            proc.replace_spec(spec)
            created.append(proc)
        await _each(
            [p for p, (_, status) in zip(created, saved, strict=True) if status != "stopped"],
            ManagedProcess.start,
        )
        return self.rows(created)

    def _simple(self, action: Action) -> Handler:
        async def handler(params: Params) -> list[dict[str, Any]]:
            procs = self._resolve(_targets(params))
            await _each(procs, action)
            return self.rows(procs)

        return handler

    async def restart(self, params: Params) -> list[dict[str, Any]]:
        procs = self._resolve(_targets(params))
        self._update_env(procs, params)
        await _each(procs, ManagedProcess.restart)
        return self.rows(procs)

    async def reload(self, params: Params) -> list[dict[str, Any]]:
        """Rolling, zero-downtime for apps with shared sockets; a restart otherwise."""
        procs = self._resolve(_targets(params))
        self._update_env(procs, params)
        try:
            await self.sup.reload_each(procs)
        except ReloadFailed as exc:
            raise MethodError(protocol.ErrorCode.FAILED, str(exc)) from None
        return self.rows(procs)

    async def history(self, params: Params) -> list[dict[str, Any]]:
        """One process's recent samples (15 min at 1 Hz), so sparklines start full."""
        pm_id = params.get("id")
        if type(pm_id) is not int:
            raise _bad("id must be a process id")
        return [event_to_dict(sample) for sample in self.sup.history(pm_id)]

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

    async def host(self, _params: Params) -> dict[str, Any] | None:
        """The machine's latest CPU, memory and load (None before the first tick)."""
        sample = self.sup.host()
        return event_to_dict(sample) if sample else None

    async def flush(self, params: Params) -> list[dict[str, Any]]:
        """Empty the log files of the targets (all processes without targets)."""
        procs = self._resolve(_targets(params)) if params.get("targets") else self.sup.processes()
        self.sup.logs.truncate([p.id for p in procs])
        return self.rows(procs)

    async def reload_logs(self, _params: Params) -> dict[str, Any]:
        """Reopen every log file (after an external logrotate moved them)."""
        self.sup.logs.reopen()
        return {"reopened": True}

    def _update_env(self, procs: list[ManagedProcess], params: Params) -> None:
        """restart/reload --update-env: the CLI's environment over each spec's."""
        env = params.get("env")
        if env is not None:
            if not isinstance(env, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in env.items()
            ):
                raise _bad("env must be an object of strings")
            for proc in procs:
                proc.replace_spec(dataclasses.replace(proc.spec, env={**proc.spec.env, **env}))

    async def reset(self, params: Params) -> list[dict[str, Any]]:
        procs = self._resolve(_targets(params))
        for proc in procs:
            proc.reset()
        return self.rows(procs)

    async def delete(self, params: Params) -> list[dict[str, Any]]:
        targets = _targets(params)
        procs = self._resolve(targets)  # every target must exist before anything goes
        rows = []
        for target in targets:
            try:
                rows += [row(i, self.home, self.user) for i in await self.sup.delete(target)]
            except UnknownTarget:
                continue  # an earlier target already took these
        return rows if rows else self.rows(procs)

    async def signal(self, params: Params) -> list[dict[str, Any]]:
        name = params.get("signal")
        if not isinstance(name, str | int) or isinstance(name, bool):
            raise _bad("signal must be a name or a number")
        try:
            number = signal_number(str(name))
        except (KeyError, ValueError):
            raise _bad(f"unknown signal {name!r}") from None
        procs = self._resolve(_targets(params))
        for proc in procs:
            proc.send_signal(number)
        return self.rows(procs)

    async def scale(self, params: Params) -> list[dict[str, Any]]:
        name, count = params.get("name"), params.get("count")
        if not isinstance(name, str) or not name:
            raise _bad("name must be a string")
        current = len([p for p in self.sup.processes() if p.spec.name == name])
        if not current:
            raise UnknownTarget(f"process not found: {name}")
        text = str(count) if type(count) in (int, str) else ""
        body = text[1:] if text[:1] in ("+", "-") else text
        if not body.isdigit() or len(body) > 6:
            raise _bad("count must be N, +N or -N")
        wanted = current + int(text) if text[0] in "+-" else int(text)
        if wanted < 0:  # never a silent `delete`: scaling to 0 is said explicitly
            raise _bad(f"cannot scale {name} to {wanted}: it has {current} instances")
        if wanted > limits.MAX_INSTANCES:  # the bound a config file has (config/limits.py)
            raise _bad(f"cannot scale {name} to {wanted}: at most {limits.MAX_INSTANCES}")
        infos = await self.sup.scale(name, wanted)
        return self.rows(self.sup.get(i.id) for i in infos)

    async def kill(self, _params: Params) -> list[dict[str, Any]]:
        """Stop every app (gracefully, all at once); the server exits after replying."""
        procs = self.sup.processes()
        if self.keeper is not None:
            self.keeper.freeze()  # the dump keeps the apps: `resurrect` brings them back
        await _each(procs, ManagedProcess.stop)
        self.killing = True
        return self.rows(procs)

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

    # ---------------------------------------------------------------- helpers

    def _resolve(self, targets: list[str]) -> list[ManagedProcess]:
        """The union of what each target names, in id order; any unknown target raises."""
        found: dict[int, ManagedProcess] = {}
        for target in targets:
            for proc in self.sup.resolve(target):
                found.setdefault(proc.id, proc)
        return [found[k] for k in sorted(found)]


async def _each(procs: Iterable[ManagedProcess], action: Action) -> None:
    """The engine's `each`, its failure reported to the client as a failed method."""
    try:
        await each(procs, action)
    except Exception as exc:
        raise MethodError(protocol.ErrorCode.FAILED, str(exc) or type(exc).__name__) from None
