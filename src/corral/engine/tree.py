"""Provides the process-tree view a stop needs: find every descendant of a run, kill them.

Because the engine is a child subreaper, every descendant of a managed process stays in
this process's tree: under the managed process, or re-parented to us when an intermediate
parent died. A run's tree is its root's descendants, plus any orphan subtree re-parented to
us that sits in the root's process group, still carries the run's token in its
environment, or was last seen in the run's tree (the `Lineage` the sampler keeps every
second: a double-forked, setsid, env-dropping escapee is caught by that). Zombies count
as dead (PM2 polls kill(pid, 0), which succeeds on a zombie).

An orphan seen in no run's tree (it left within the sampling second) belongs to no app:
`end_descendants`, which the daemon and `up` call as they exit, ends it with the rest.

Everything here reads /proc itself rather than through psutil, which would stay resident
in the daemon (about 4 MiB) from its first stop on. A process is known by its pid and
start time (`Proc`), so a pid the kernel gave out again is never signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import defaultdict
from collections.abc import Callable

TOKEN_VAR = "CORRAL_RUN"
"""Environment variable carrying a unique token per run, inherited by its descendants."""

Identity = tuple[int, int]
"""(pid, start time in clock ticks after boot): unique even when pids are recycled."""


def _stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command name (state first), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return fields if len(fields) > 19 else None


def start_ticks(pid: int) -> int | None:
    """PID's start time in clock ticks after boot (field 22 of /proc/PID/stat)."""
    fields = _stat(pid)
    try:
        return None if fields is None else int(fields[19])
    except ValueError:
        return None


class Proc:
    """A process as a stop sees it: its pid and start time, which together name it."""

    __slots__ = ("pid", "start")

    def __init__(self, pid: int, start: int) -> None:
        self.pid = pid
        self.start = start

    @classmethod
    def of(cls, pid: int) -> Proc | None:
        """PID as it is now, or None when there is no such process."""
        ticks = start_ticks(pid)
        return None if ticks is None else cls(pid, ticks)

    def alive(self) -> bool:
        """True unless it is gone, a zombie, or its pid now names another process."""
        fields = _stat(self.pid)
        return (
            fields is not None
            and fields[0] not in (b"Z", b"X")
            and fields[19] == b"%d" % self.start
        )

    def send_signal(self, sig: int) -> None:
        """SIG, only while the pid still names this process (OSError when it is gone)."""
        if not self.alive():
            raise ProcessLookupError(self.pid)
        os.kill(self.pid, sig)

    def __repr__(self) -> str:
        return f"Proc({self.pid})"


class Lineage:
    """Which run each descendant was last seen in, and who has been re-parented to us.

    The sampler rewrites it every pass; stops read it (`collect`), and the daemon's state
    file records the orphans, so a recovery after a kill -9 can find them by pid and start
    time even when nothing else about them (group, session, environment) is ours.
    """

    def __init__(self) -> None:
        self.seen: dict[Identity, str] = {}
        """Per live descendant: the token of the run whose tree it was last seen in."""
        self.orphans: dict[int, int] = {}
        """Unmanaged processes re-parented to us, with their start ticks."""
        self._listeners: list[Callable[[], None]] = []

    def listen(self, callback: Callable[[], None]) -> None:
        """Call CALLBACK whenever the set of orphans changes."""
        self._listeners.append(callback)

    def update(self, seen: dict[Identity, str], orphans: dict[int, int]) -> None:
        """A pass's findings: SEEN replaces what is known, ORPHANS are told when new."""
        self.seen = seen
        if orphans != self.orphans:
            self.orphans = orphans
            for callback in list(self._listeners):
                callback()

    def token_of(self, pid: int) -> str | None:
        """The run PID was last seen in (None if never, or if PID is another process now)."""
        ticks = start_ticks(pid)
        return None if ticks is None else self.seen.get((pid, ticks))


def _children_map() -> dict[int, list[int]]:
    """Parent pid to children, for this process's subtree (every run's tree lies in it:
    the engine is their subreaper) or, without the kernel's children lists, for all."""
    children: dict[int, list[int]] = defaultdict(list)
    if HAS_CHILDREN_LISTS:
        stack = [os.getpid()]
        while stack:
            pid = stack.pop()
            kids = children_of(pid)
            if kids:
                children[pid] = kids
                stack.extend(kids)
        return children
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                children[int(fields[1])].append(int(entry))
    return children


def _kids() -> Callable[[int], list[int]]:
    """Pid to its children: the kernel's lists where they exist, so a walk reads only the
    subtree it follows (one stop among 200 apps no longer reads all 200 trees), else one
    scan of /proc made now."""
    if HAS_CHILDREN_LISTS:
        return children_of
    children = _children_map()
    return lambda pid: children.get(pid, [])


def _subtree(root: int, kids: Callable[[int], list[int]]) -> list[int]:
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(kids(pid))
    return found


def _belongs(pid: int, root: int, token: str) -> bool:
    """An orphan belongs to the run if it kept the run's group or its token."""
    with contextlib.suppress(OSError):
        if os.getpgid(pid) == root:
            return True
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return f"{TOKEN_VAR}={token}".encode() in handle.read().split(b"\0")
    except OSError:
        return False


def collect(root: int, token: str, managed: set[int], lineage: Lineage | None = None) -> list[Proc]:
    """Every live process of the run rooted at ROOT (ROOT included when alive).

    MANAGED are the root pids of all runs this engine owns; their subtrees are never
    attributed to another run. LINEAGE adds the orphans last seen in this run's tree.
    """
    kids = _kids()
    pids = set(_subtree(root, kids)) if os.path.exists(f"/proc/{root}") else set()
    for orphan in kids(os.getpid()):
        if orphan in managed or orphan in pids:
            continue
        if _belongs(orphan, root, token) or (
            lineage is not None and lineage.token_of(orphan) == token
        ):
            pids.update(_subtree(orphan, kids))
    return [proc for proc in map(Proc.of, pids) if proc is not None]


def children_of(pid: int) -> list[int]:
    """PID's children, from each of its threads' /proc children list (no full scan)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


HAS_CHILDREN_LISTS = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
"""Linux with CONFIG_PROC_CHILDREN: a subtree can be walked without reading every process."""


def our_children() -> set[int]:
    """Direct children of this process."""
    return set(_kids()(os.getpid()))


def may_have_leftovers(root: int, managed: set[int]) -> bool:
    """Cheap check after a root was reaped: could anything of its tree still be alive?

    False when its process group is empty and no unmanaged process has been re-parented
    to us; then the full (costlier) tree walk is skipped and a crash restarts at once.
    """
    try:
        os.killpg(root, 0)
        return True
    except ProcessLookupError:
        pass
    except OSError:
        return True
    return bool(our_children() - managed)


def alive(proc: Proc) -> bool:
    """True unless PROC is gone, replaced by another process, or a zombie."""
    return proc.alive()


def send(procs: list[Proc], sig: int, group: int | None = None) -> None:
    """Send SIG to GROUP (a process group id) and to each of PROCS, ignoring the departed."""
    if group is not None:
        with contextlib.suppress(OSError):
            os.killpg(group, sig)
    for proc in procs:
        with contextlib.suppress(OSError):
            # A member of GROUP already got it: a second SIGINT would interrupt its handler.
            if group is None or os.getpgid(proc.pid) != group:
                proc.send_signal(sig)


async def terminate(
    root: int,
    token: str,
    managed: set[int],
    sig: int = signal.SIGINT,
    timeout_ms: int = 1600,
    root_exited: asyncio.Future[int] | None = None,
    treekill: bool = True,
    lineage: Lineage | None = None,
) -> bool:
    """Stop the run rooted at ROOT: SIG to its whole tree, SIGKILL survivors after TIMEOUT_MS.

    Polls every 100 ms (as PM2 does), but wakes at once when the root exits. Returns True
    when nothing of the tree is left alive. With TREEKILL false only ROOT is signalled.
    """

    def look() -> list[Proc]:
        procs = collect(root, token, managed, lineage) if treekill else _just(root)
        return [p for p in procs if alive(p)]

    known = look()
    send(known, sig, group=root if treekill else None)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        # Re-read the tree each round: it may have forked since the signal went out.
        left = look()
        new = [p for p in left if p.pid not in {k.pid for k in known}]
        send(new, sig)
        known.extend(new)
        if not left:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        await _pause(min(0.1, remaining), root_exited)
    # Grace is over: SIGKILL whatever is still there, then give the kernel a moment.
    for _ in range(3):
        left = look()
        if not left:
            return True
        send(left, signal.SIGKILL)
        for _ in range(20):  # up to 100 ms: the kernel sends no event for a non-child's death
            if not any(alive(p) for p in left):
                break
            await asyncio.sleep(0.005)
    return not look()


def descendants() -> list[Proc]:
    """Every live descendant of this process."""
    me = os.getpid()
    pids = [pid for pid in _subtree(me, _kids()) if pid != me]
    return [p for p in map(Proc.of, pids) if p is not None and p.alive()]


async def end_descendants(grace_s: float = 1.0) -> int:
    """SIGTERM every descendant of this process, SIGKILL what is left after GRACE_S.

    Called by the daemon and `up` once every app has stopped: what is still there escaped
    every app's tree (an orphan no sampling pass saw), and nothing may outlive corral.
    Returns how many there were. Only for a process whose children are all corral's.
    """
    told: set[int] = set()
    deadline = time.monotonic() + grace_s
    while True:
        left = descendants()
        if not left:
            return len(told)
        fresh = [p for p in left if p.pid not in told]
        send(fresh, signal.SIGTERM)
        told.update(p.pid for p in fresh)
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.05)
    for _ in range(3):  # grace is over
        left = descendants()
        if not left:
            break
        send(left, signal.SIGKILL)
        for _ in range(20):
            if not any(alive(p) for p in left):
                break
            await asyncio.sleep(0.005)
    return len(told)


def _just(root: int) -> list[Proc]:
    proc = Proc.of(root)
    return [] if proc is None else [proc]


async def _pause(seconds: float, root_exited: asyncio.Future[int] | None) -> None:
    if root_exited is None or root_exited.done():
        await asyncio.sleep(seconds)
    else:
        await asyncio.wait([root_exited], timeout=seconds)
