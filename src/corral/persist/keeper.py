"""Provides Keeper: the daemon's sink that keeps state.json and dump.json in step.

Every engine event passes through `__call__` (synchronously, so it only takes notes):

- a new or removed process, a changed spec, or a changed *desired* state (the user's
  stop or start; not the online/launching/waiting flaps of a crash loop) marks the dump
  dirty, and with autosave a save follows 200 ms later, coalesced, written by one worker
  thread so that fsync never stalls the event loop;
- those and any new pid mark state.json dirty; it is rewritten 20 ms later (a rename, no
  fsync), and at once after every RPC that changed something (`flush_state`), so a CLI
  that got its answer can rely on it.

Acknowledged means durable: state.json holds every change before the RPC that made it
answers, and a daemon that recovered from a dead one's state.json writes the dump at once
(`sync_dump`, before it serves), so a kill -9 inside the 200 ms never loses a change.

A write that fails (disk full, read-only remount) is retried with backoff (0.1 s doubling to
5 s) until it succeeds; while it fails, `trouble` says so (ping, `corral list`) and an error
event goes out (monit's header, daemon.log), again every 30 s, and an info event when the
file is written again.

`freeze` is called when the daemon starts shutting down (`kill`, SIGTERM): the dump keeps
the list as it was before the stops, so `resurrect` brings the apps back (PM2's `kill`
leaves the dump alone too). `close` deletes state.json: a clean exit leaves nothing to recover.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from corral.config.spec import AppSpec
from corral.engine.events import PERSISTENCE, Event, Lifecycle, Removed, StateChanged
from corral.engine.process import ManagedProcess
from corral.engine.states import ProcessState
from corral.engine.supervisor import Supervisor
from corral.persist import dump, state
from corral.persist.files import read_bytes

DUMP_DELAY_S = 0.2
STATE_DELAY_S = 0.02
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0
"""A failed write is tried again after 0.1 s, doubling up to every 5 s, until it succeeds."""
REMIND_S = 30.0
"""While writes keep failing, the error event is sent again this often (a monit attached
later learns of it)."""
CLOSE_RETRY_S = 3.0
"""How long a clean exit keeps retrying a failed last dump before it gives up (and says so)."""

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
        self._seen: dict[int, tuple[int | None, str, AppSpec | None, tuple[bool, bool]]] = {}
        """Per id: the pid, desired state, spec and runtime state (watch switch, paused)
        last seen."""
        self._started: dict[int, float | None] = {}
        """create_time per live pid, looked up once per pid."""
        self._state_timer: asyncio.TimerHandle | None = None
        self._dump_timer: asyncio.TimerHandle | None = None
        self._frozen = False
        self._failures: dict[str, str] = {}
        self.failures = 0
        """Failed writes of state.json or dump.json since start (for `corral metrics`)."""
        """Per file that cannot be written now: why."""
        self._told: dict[str, float] = {}
        self._delays: dict[str, float] = {}
        self._state_retry: asyncio.TimerHandle | None = None
        self._last: list[dump.Entry] = []
        """The entries of the latest autosave (what a failed one retries at exit)."""
        self._stray_times: dict[tuple[int, int], float | None] = {}
        """create_time per stray identity, looked up once."""
        self._boot = state.boot_id()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="corral-dump")
        """One thread, so dumps are written in the order they were taken."""
        # A new orphan (or one gone) is recorded, so a recovery can find it after a kill -9.
        sup.lineage.listen(lambda: self._touch(dump_too=False))

    # ------------------------------------------------------------------ events

    def __call__(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            info = event.info
            before = self._seen.get(info.id)
            old_desired = before[1] if before else "online"
            desired = _desired(info.status, old_desired)
            runtime = (info.watch_on, info.paused)
            self._seen[info.id] = (info.pid, desired, info.spec, runtime)
            listed = (
                before is None
                or desired != before[1]
                or runtime != before[3]
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
                    proc.watch_on,
                    proc.paused,
                )
            )
        snapshot = state.State(
            os.getpid(), self._boot, instances, self._frozen, self._strays(procs)
        )
        try:
            state.write(self.root, snapshot)
        except OSError as exc:
            self._failed("state.json", exc)
            if self._state_retry is None:
                self._state_retry = self._loop.call_later(self._backoff("state.json"), self._retry)
            return
        self._written("state.json")

    def _strays(self, procs: list[ManagedProcess]) -> list[state.Stray]:
        lineage = self.sup.lineage
        ids = {p.token: p.id for p in procs if p.token}
        known = {(pid, ticks) for pid, ticks in lineage.orphans.items()}
        for gone in [ident for ident in self._stray_times if ident not in known]:
            del self._stray_times[gone]
        out = []
        for ident in sorted(known):
            if ident not in self._stray_times:
                self._stray_times[ident] = state.create_time(ident[0])
            started = self._stray_times[ident]
            if started is not None:
                owner = lineage.seen.get(ident)
                out.append(state.Stray(ident[0], started, ids.get(owner) if owner else None))
        return out

    def _retry(self) -> None:
        self._state_retry = None
        self.write_state()  # the table as it is now, not as it was when the write failed

    # -------------------------------------------------------------------- dump

    def desired(self, proc: ManagedProcess) -> str:
        """`stopped` if the user stopped PROC (or it ended for good), else `online`."""
        seen = self._seen.get(proc.id)
        return _desired(proc.state, seen[1] if seen else "online")

    def entries(self) -> list[dump.Entry]:
        """The table as dump entries, in id order (snapshots: safe to hand to a thread)."""
        return [
            dump.Entry(p.spec.name, self.desired(p), p.spec.to_dict(), p.id, p.watch_on, p.paused)
            for p in self.sup.processes()
        ]

    def _autosave(self) -> None:
        self._dump_timer = None
        if self._frozen:
            return
        self._last = self.entries()
        self._writer.submit(self._write_if_changed, self._last)

    def _write_if_changed(self, entries: list[dump.Entry]) -> None:
        """Worker thread: save unless the file already holds ENTRIES (keeps the .bak useful);
        the outcome goes back to the loop, in order (one writer thread)."""
        try:
            _save_if_changed(self.root, entries)
        except OSError as exc:
            self._loop.call_soon_threadsafe(self._dump_failed, exc)
            return
        self._loop.call_soon_threadsafe(self._written, "dump.json")

    def _dump_failed(self, exc: OSError) -> None:
        self._failed("dump.json", exc)
        if self._dump_timer is None and not self._frozen:
            # The retry takes the table as it is then: a newer list supersedes this one.
            self._dump_timer = self._loop.call_later(self._backoff("dump.json"), self._autosave)

    async def sync_dump(self) -> None:
        """Write the dump now if the table differs from it (with autosave): a recovered
        daemon calls this before serving, so what it restored is on disk at once."""
        if not self.autosave or self._frozen:
            return
        self._last = self.entries()
        await self._in_writer(self._write_if_changed, self._last)
        await asyncio.sleep(0)  # take the outcome the writer posted to the loop

    # ---------------------------------------------------------------- failures

    @property
    def trouble(self) -> str | None:
        """What cannot be written right now (None while every write succeeds)."""
        return "; ".join(self._failures.values()) or None

    def _backoff(self, what: str) -> float:
        delay = self._delays.get(what, RETRY_FIRST_S / 2) * 2
        self._delays[what] = min(delay, RETRY_MAX_S)
        return self._delays[what]

    def _failed(self, what: str, exc: OSError) -> None:
        self.failures += 1
        reason = exc.strerror or str(exc)
        text = f"cannot write {os.path.join(self.root, what)}: {reason}"
        self._failures[what] = text
        now = time.monotonic()
        if now - self._told.get(what, -REMIND_S) >= REMIND_S:
            self._told[what] = now
            self._tell(f"{text}; retrying until it succeeds", "error")

    def _written(self, what: str) -> None:
        self._delays.pop(what, None)
        if self._failures.pop(what, None) is not None:
            self._told.pop(what, None)
            self._tell(f"{os.path.join(self.root, what)} written again", "info")

    def _tell(self, message: str, level: Literal["info", "error"]) -> None:
        self.report(message)
        self.sup.publish(Lifecycle(-1, PERSISTENCE, time.time(), message, level))

    async def save(self, *, force: bool) -> tuple[str, int]:
        """`corral save`: write the dump now; (path, processes saved). EmptyList, OSError."""
        if self._dump_timer is not None:
            self._dump_timer.cancel()
            self._dump_timer = None
        entries = self.entries()
        path = await self._in_writer(dump.save, self.root, entries, force=force)
        self._written("dump.json")
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
        """Clean exit: wait for the last dump write and delete state.json.

        A last dump that cannot be written is retried for CLOSE_RETRY_S, then given up
        (daemon.log says so): an exit cannot wait for the disk forever.
        """
        self.freeze()
        for timer in (self._state_timer, self._state_retry):
            if timer is not None:
                timer.cancel()
        self._state_timer = self._state_retry = None
        await self._loop.run_in_executor(None, self._writer.shutdown, True)
        await asyncio.sleep(0)  # take the writer's last outcome
        deadline = time.monotonic() + CLOSE_RETRY_S
        while "dump.json" in self._failures and self.autosave:
            if time.monotonic() > deadline:
                self.report(f"{self._failures['dump.json']}; giving up at exit")
                break
            await asyncio.sleep(self._backoff("dump.json"))
            try:
                await self._loop.run_in_executor(None, _save_if_changed, self.root, self._last)
            except OSError as exc:
                self._failed("dump.json", exc)
            else:
                self._written("dump.json")
        state.remove(self.root)


def _save_if_changed(root: str, entries: list[dump.Entry]) -> None:
    """Save ENTRIES as ROOT's dump unless it already holds them; OSError when it cannot."""
    if not dump.same_apps(read_bytes(dump.paths(root)[0]), entries):
        dump.save(root, entries, force=True)


def _desired(status: ProcessState, before: str) -> str:
    """PM2's desired state: online unless stopped (a stop in progress keeps the old one)."""
    if status is ProcessState.STOPPED:
        return "stopped"
    if status is ProcessState.STOPPING:
        return before
    return "online"
