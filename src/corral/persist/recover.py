"""Provides `recover`: what a new daemon does when the previous one died under its apps.

The previous daemon's state.json lists every process it ran, with pid and start time. Its
apps may still run, but nobody reads their pipes any more (their next write fails) and
nobody would restart them: they are stopped (their own kill_signal, SIGKILL after their
kill_timeout), with everything they started, and then re-created under supervision with
their specs and desired states, under the same ids (so their log files stay the same).
Adopting them instead would need their output to outlive the daemon (a pipe held by a
third process); stopping is the design that leaves none unsupervised and none twice.

What counts as an old process, never by pid alone:
- a recorded pid that is alive and started at the recorded time (not a reused pid),
  and the members of its process group (children run in their own session);
- any process whose environment carries this home's CORRAL_HOME and a run token
  (CORRAL_RUN): it was started by a daemon of this home, maybe after the last state write;
- each recorded stray (re-parented to the dead daemon: it double-forked, maybe called
  setsid and cleared its environment) alive and started at the recorded time;
- and the descendants of all of these.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil

from corral.engine.tree import TOKEN_VAR
from corral.persist.state import Instance, State, boot_id, same_process

POLL_S = 0.05
DEFAULT_KILL_TIMEOUT_MS = 1600
MAX_KILL_TIMEOUT_MS = 5000
"""Recovery runs before the daemon answers, and the CLI that started it waits 15 s: an app
with a longer kill_timeout gets SIGKILL after this (it lost its pipes anyway)."""

Restore = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass(slots=True)
class Outcome:
    """What recovery did, for the one line the user sees and for daemon.log."""

    previous_pid: int
    stopped: int = 0
    """Old processes (apps and what they started) that were still alive and were stopped."""
    restored: int = 0
    apps: set[str] = field(default_factory=set)
    failed: list[str] = field(default_factory=list)
    closing: bool = False

    @property
    def anything(self) -> bool:
        """Whether recovery found something to stop or restore (worth a line)."""
        return bool(self.restored or self.stopped or self.failed)

    def line(self) -> str:
        """One line: what happened and what was done about it."""
        if self.closing:
            return (
                f"the previous daemon (pid {self.previous_pid}) died while shutting down; "
                f"{self.stopped} old processes stopped, none restarted"
            )
        apps = len(self.apps)
        text = (
            f"the daemon (pid {self.previous_pid}) had died; {self.restored} process"
            f"{'es' if self.restored != 1 else ''} of {apps} app{'s' if apps != 1 else ''} "
            f"restarted under supervision ({self.stopped} old process"
            f"{'es' if self.stopped != 1 else ''} stopped)"
        )
        if self.failed:
            text += "; could not restore: " + ", ".join(self.failed)
        return text


def leftovers(previous: State, root: str) -> dict[int, Instance | None]:
    """The old processes still alive, each with the instance it belonged to (if known)."""
    import psutil  # only on a recovery: an idle daemon does without it

    by_id = {i.id: i for i in previous.instances}
    roots = {i.pid: i for i in previous.instances if i.pid and same_process(i.pid, i.create_time)}
    ours = {os.getpid()} | {p.pid for p in _parents()}
    marker = f"CORRAL_HOME={root}".encode()
    children: dict[int, list[int]] = {}
    found: dict[int, Instance | None] = {}
    for proc in psutil.process_iter(["ppid"]):
        pid = proc.pid
        children.setdefault(proc.info["ppid"] or 0, []).append(pid)
        if pid in ours:
            continue
        if pid in roots:
            found[pid] = roots[pid]
            continue
        with contextlib.suppress(OSError):
            group = os.getpgid(pid)
            if group in roots:
                found[pid] = roots[group]
                continue
        env = _environ(pid)
        if env and marker in env and any(v.startswith(f"{TOKEN_VAR}=".encode()) for v in env):
            pm_id = _int(env, b"CORRAL_ID=")
            found[pid] = by_id.get(pm_id) if pm_id is not None else None
    for stray in previous.strays:
        fresh = stray.pid not in found and stray.pid not in ours
        if fresh and same_process(stray.pid, stray.create_time):
            found[stray.pid] = by_id.get(stray.id) if stray.id is not None else None
    stack = list(found)
    while stack:  # descendants belong to their ancestor's instance
        pid = stack.pop()
        for child in children.get(pid, ()):
            if child not in found and child not in ours:
                found[child] = found[pid]
                stack.append(child)
    return found


def _parents() -> list[psutil.Process]:
    import psutil

    try:
        return psutil.Process().parents()
    except psutil.Error:
        return []


def _environ(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return handle.read().split(b"\0")
    except OSError:
        return None


def _int(env: list[bytes], prefix: bytes) -> int | None:
    for item in env:
        if item.startswith(prefix):
            with contextlib.suppress(ValueError):
                return int(item[len(prefix) :])
    return None


async def stop(victims: dict[int, Instance | None]) -> int:
    """Stop VICTIMS: each its app's kill_signal, SIGKILL after its kill_timeout; the count."""
    import psutil  # only on a recovery: an idle daemon does without it

    now = time.monotonic()
    pending: dict[int, tuple[psutil.Process, float]] = {}
    for pid, inst in victims.items():
        spec = inst.spec if inst else {}
        try:
            proc = psutil.Process(pid)
            proc.send_signal(_signal(str(spec.get("kill_signal") or "SIGINT")))
        except (psutil.Error, ValueError, OSError):
            continue
        timeout_ms = spec.get("kill_timeout")
        ms = timeout_ms if type(timeout_ms) is int else DEFAULT_KILL_TIMEOUT_MS
        ms = min(ms, MAX_KILL_TIMEOUT_MS)
        pending[pid] = (proc, now + ms / 1000)
    stopped = len(pending)
    while pending:
        now = time.monotonic()
        for pid, (proc, deadline) in list(pending.items()):
            if not _alive(proc):
                del pending[pid]
            elif now >= deadline:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
                pending[pid] = (proc, now + 5.0)  # the kernel's time to tear it down
        if pending:
            await asyncio.sleep(POLL_S)
    return stopped


def _signal(name: str) -> int:
    upper = name.upper()
    if upper.isdigit():
        return int(upper)
    return int(signal.Signals[upper if upper.startswith("SIG") else f"SIG{upper}"])


def _alive(proc: psutil.Process) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


async def recover(previous: State, root: str, restore: Restore) -> Outcome | None:
    """Stop what the dead daemon left running, then bring its processes back via RESTORE.

    None when the state is from another boot (every process died with the machine;
    `corral resurrect` at boot is the way back then). An outcome that did nothing
    (`anything` false) still means the daemon died this boot, after acknowledging changes
    its autosave may never have written (the delete of its last app, say).
    """
    if previous.boot_id != boot_id():
        return None
    outcome = Outcome(previous.daemon_pid, closing=previous.closing)
    outcome.stopped = await stop(leftovers(previous, root))
    if previous.closing:
        return outcome
    for inst in sorted(previous.instances, key=lambda i: i.id):
        entry = {
            "spec": inst.spec,
            "status": inst.status,
            "id": inst.id,
            "watch_on": inst.watch_on,
            "paused": inst.paused,
        }
        try:
            await restore({"entries": [entry]})
        except Exception as exc:
            outcome.failed.append(f"{inst.name}[{inst.id}] ({exc})")
            continue
        outcome.restored += 1
        outcome.apps.add(inst.name)
    return outcome
