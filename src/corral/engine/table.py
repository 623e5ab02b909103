"""Provides ProcessTable: the supervisor's processes by id, how targets name them, and the
listening sockets each cluster app shares.

Kept apart from supervisor.py, which holds the commands: this is only bookkeeping (ids,
names, namespaces, sockets), with no process ever started or stopped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from corral.config.spec import AppSpec
from corral.engine.api import BadArgument, StartError, UnknownTarget
from corral.engine.process import ManagedProcess
from corral.engine.run import Host
from corral.engine.sockets import BindError, SharedSockets, SocketPool


class ProcessTable:
    """Every managed process by id; ids are never reused while the table is not empty."""

    def __init__(self, pool: SocketPool) -> None:
        self.procs: dict[int, ManagedProcess] = {}
        self.next_id = 0
        self.pool = pool
        """Every listening socket held for apps (declared, or asked for on demand)."""
        self.sockets: dict[str, SharedSockets] = {}
        """Each cluster app's declared sockets, by app name: they outlive every instance."""

    def all(self) -> list[ManagedProcess]:
        """Every process, in id order."""
        return list(self.procs.values())

    def named(self, name: str) -> list[ManagedProcess]:
        """The instances of the app NAME, oldest (lowest id) first."""
        return [p for p in self.procs.values() if p.spec.name == name]

    def resolve(self, target: str) -> list[ManagedProcess]:
        """The processes TARGET names: `all`, a name, a namespace, or an id (PM2's order)."""
        procs = list(self.procs.values())
        if target == "all":
            return procs
        found = [p for p in procs if p.spec.name == target]
        if not found:
            found = [p for p in procs if p.spec.namespace == target]
        if not found and target.isdigit() and int(target) in self.procs:
            found = [self.procs[int(target)]]
        if not found:
            raise UnknownTarget(f"process or namespace not found: {target}")
        return found

    def resolve_all(self, targets: Sequence[str]) -> list[ManagedProcess]:
        """The union of what each of TARGETS names, in id order. There must be a target,
        and every one must name something: UnknownTarget before anything is done."""
        if not targets:
            raise BadArgument("no target given")
        found: dict[int, ManagedProcess] = {}
        for target in targets:
            for proc in self.resolve(target):
                found.setdefault(proc.id, proc)
        return [found[k] for k in sorted(found)]

    def get(self, pm_id: int) -> ManagedProcess:
        """The process with id PM_ID."""
        try:
            return self.procs[pm_id]
        except KeyError:
            raise UnknownTarget(f"no process with id {pm_id}") from None

    def skip_ids_to(self, pm_id: int) -> bool:
        """Give the next new process id PM_ID if no id so far reached it (resurrect and crash
        recovery keep ids, so log files keep their names); False when it cannot."""
        if pm_id < self.next_id:
            return False
        self.next_id = pm_id
        return True

    def create(self, host: Host, spec: AppSpec) -> ManagedProcess:
        """A new, stopped process for SPEC: the next id, the lowest free instance index."""
        siblings = self.named(spec.name)
        used = {p.instance for p in siblings}
        instance = next(i for i in range(len(used) + 1) if i not in used)
        increment = None
        if spec.increment_var:
            base = int(spec.env.get(spec.increment_var, "0") or 0)
            values = [p.increment_value for p in siblings if p.increment_value is not None]
            increment = max(values) + 1 if values else base
        proc = ManagedProcess(host, self.next_id, spec, instance, increment)
        proc.sockets = self.sockets.get(spec.name)
        self.procs[proc.id] = proc
        self.next_id += 1
        proc.publish_state()
        return proc

    def bind(self, specs: Sequence[AppSpec]) -> None:
        """Bind the sockets of every new cluster app; on any failure none stays bound."""
        fresh: dict[str, SharedSockets] = {}
        for spec in specs:
            if spec.listen and spec.name not in self.sockets and spec.name not in fresh:
                sockets = SharedSockets(spec.listen, self.pool, spec.name)
                try:
                    sockets.bind()
                except BindError as exc:
                    for done in fresh.values():
                        done.close()
                    raise StartError(f"app {spec.name!r}: {exc.strerror}") from exc
                fresh[spec.name] = sockets
        self.sockets.update(fresh)

    def drop(self, procs: Iterable[ManagedProcess]) -> list[ManagedProcess]:
        """Take PROCS out of the table (those still in it, returned); an app's sockets go back
        to the pool with its last instance, and ids start from 0 again once it is empty."""
        dropped = [p for p in procs if self.procs.pop(p.id, None) is not None]
        left = {p.spec.name for p in self.procs.values()}
        for name in {p.spec.name for p in dropped} - left:
            self.sockets.pop(name, None)
            self.pool.release(name)
        if not self.procs:
            self.next_id = 0
        return dropped

    def close_sockets(self) -> None:
        """Close every socket held for apps (the supervisor is closing)."""
        self.sockets.clear()
        self.pool.close()
