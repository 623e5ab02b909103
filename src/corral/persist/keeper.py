"""Provides Keeper: the daemon's sink that keeps state.json and dump.json in step.

Every engine event passes through `__call__` (synchronously, so it only takes notes):

- a new or removed process, a changed spec, or a changed *desired* state (the user's
  stop or start; not the online/launching/waiting flaps of a crash loop) marks the dump
  dirty, and with autosave a save follows 200 ms later, coalesced, written by one worker
  thread so that fsync never stalls the event loop;
- those and any new pid mark state.json dirty; it is rewritten 20 ms later (a rename, no
  fsync), and at once after every RPC that changed something (`flush_state`), so a CLI
  that got its answer can rely on it.

`freeze` is called when the daemon starts shutting down (`kill`, SIGTERM): the dump keeps
the list as it was before the stops, so `resurrect` brings the apps back (PM2's `kill`
leaves the dump alone too). `close` deletes state.json: a clean exit leaves nothing to recover.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from corral.config.spec import AppSpec
from corral.engine.events import Event, Removed, StateChanged
from corral.engine.process import ManagedProcess
from corral.engine.states import ProcessState
from corral.engine.supervisor import Supervisor
from corral.persist import dump, state
from corral.persist.files import read_bytes

DUMP_DELAY_S = 0.2
STATE_DELAY_S = 0.02

Report = Callable[[str], None]


class Keeper:
    """Writes the home's state.json (always) and dump.json (with autosave)."""

    def __init__(self, sup: Supervisor, root: str, *, autosave: bool, report: Report) -> None:
        self.sup = sup
        self.root = root
        self.autosave = autosave
        self.report = report
        """Where trouble is told (daemon.log); never raises."""
        self._loop = asyncio.get_running_loop()
        self._seen: dict[int, tuple[int | None, str, AppSpec | None]] = {}
        """Per id: the pid, desired state and spec last seen."""
        self._started: dict[int, float | None] = {}
        """create_time per live pid, looked up once per pid."""
        self._state_timer: asyncio.TimerHandle | None = None
        self._dump_timer: asyncio.TimerHandle | None = None
        self._frozen = False
        self._boot = state.boot_id()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="corral-dump")
        """One thread, so dumps are written in the order they were taken."""

    # ------------------------------------------------------------------ events

    def __call__(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            info = event.info
            before = self._seen.get(info.id)
            old_desired = before[1] if before else "online"
            desired = _desired(info.status, old_desired)
            self._seen[info.id] = (info.pid, desired, info.spec)
            listed = (
                before is None
                or desired != before[1]
                or (info.spec is not before[2] and info.spec != before[2])
            )
            if listed:
                self._touch(dump_too=True)
            elif before is not None and info.pid != before[0]:
                self._touch(dump_too=False)
        elif isinstance(event, Removed):
            self._seen.pop(event.id, None)
            self._touch(dump_too=True)

    def _touch(self, *, dump_too: bool) -> None:
        if self._state_timer is None:
            self._state_timer = self._loop.call_later(STATE_DELAY_S, self.flush_state)
        if dump_too and self.autosave and not self._frozen and self._dump_timer is None:
            self._dump_timer = self._loop.call_later(DUMP_DELAY_S, self._autosave)

    # ------------------------------------------------------------------- state

    def flush_state(self) -> None:
        """Write state.json now if anything changed since it was last written."""
        if self._state_timer is None:
            return
        self._state_timer.cancel()
        self._state_timer = None
        self.write_state()

    def write_state(self) -> None:
        """Write state.json from the table as it is."""
        procs = self.sup.processes()
        live = {p.pid for p in procs if p.pid}
        for gone in [known for known in self._started if known not in live]:
            del self._started[gone]
        instances = []
        for proc in procs:
            pid = proc.pid
            if pid and pid not in self._started:
                self._started[pid] = state.create_time(pid)
            instances.append(
                state.Instance(
                    proc.id,
                    proc.spec.name,
                    self.desired(proc),
                    proc.spec.to_dict(),
                    pid,
                    self._started.get(pid) if pid else None,
                )
            )
        snapshot = state.State(os.getpid(), self._boot, instances, self._frozen)
        try:
            state.write(self.root, snapshot)
        except OSError as exc:
            self.report(f"cannot write the state file: {exc}")

    # -------------------------------------------------------------------- dump

    def desired(self, proc: ManagedProcess) -> str:
        """`stopped` if the user stopped PROC (or it ended for good), else `online`."""
        seen = self._seen.get(proc.id)
        return _desired(proc.state, seen[1] if seen else "online")

    def entries(self) -> list[dump.Entry]:
        """The table as dump entries, in id order (snapshots: safe to hand to a thread)."""
        return [
            dump.Entry(p.spec.name, self.desired(p), p.spec.to_dict(), p.id)
            for p in self.sup.processes()
        ]

    def _autosave(self) -> None:
        self._dump_timer = None
        if self._frozen:
            return
        entries = self.entries()
        self._writer.submit(self._write_if_changed, entries)

    def _write_if_changed(self, entries: list[dump.Entry]) -> None:
        """Worker thread: save unless the file already holds ENTRIES (keeps the .bak useful)."""
        try:
            if not dump.same_apps(read_bytes(dump.paths(self.root)[0]), entries):
                dump.save(self.root, entries, force=True)
        except OSError as exc:
            self.report(f"autosave failed: {exc}")

    async def save(self, *, force: bool) -> tuple[str, int]:
        """`corral save`: write the dump now; (path, processes saved). EmptyList, OSError."""
        if self._dump_timer is not None:
            self._dump_timer.cancel()
            self._dump_timer = None
        entries = self.entries()
        path = await self._in_writer(dump.save, self.root, entries, force=force)
        return str(path), len(entries)

    async def clear(self) -> str:
        """`corral cleardump`: save an empty list (the previous one stays as the backup)."""
        return str(await self._in_writer(dump.clear, self.root))

    async def _in_writer(self, func: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        return await self._loop.run_in_executor(self._writer, lambda: func(*args, **kw))

    # --------------------------------------------------------------- shutdown

    def freeze(self) -> None:
        """The daemon is shutting down: save what is pending, then save no more."""
        if self._frozen:
            return
        if self._dump_timer is not None:
            self._dump_timer.cancel()
            self._autosave()
        self._frozen = True
        self.flush_state()
        self.write_state()  # marks `closing`: a crash from here on brings nothing back

    async def close(self) -> None:
        """Clean exit: wait for the last dump write and delete state.json."""
        self.freeze()
        if self._state_timer is not None:
            self._state_timer.cancel()
            self._state_timer = None
        await self._loop.run_in_executor(None, self._writer.shutdown)
        state.remove(self.root)


def _desired(status: ProcessState, before: str) -> str:
    """PM2's desired state: online unless stopped (a stop in progress keeps the old one)."""
    if status is ProcessState.STOPPED:
        return "stopped"
    if status is ProcessState.STOPPING:
        return before
    return "online"
