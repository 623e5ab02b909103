"""Provides the process-tree view a stop needs: find every descendant of a run, kill them.

Because the engine is a child subreaper, every descendant of a managed process stays in
this process's tree: under the managed process, or re-parented to us when an intermediate
parent died. A run's tree is its root's descendants, plus any orphan subtree re-parented to
us that still carries the run's token in its environment or sits in the root's process
group. Zombies count as dead (PM2 polls kill(pid, 0), which succeeds on a zombie).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import defaultdict

import psutil

TOKEN_VAR = "CORRAL_RUN"
"""Environment variable carrying a unique token per run, inherited by its descendants."""


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = defaultdict(list)
    for proc in psutil.process_iter(["ppid"]):
        ppid = proc.info["ppid"]
        if ppid is not None:
            children[ppid].append(proc.pid)
    return children


def _subtree(root: int, children: dict[int, list[int]]) -> list[int]:
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
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


def collect(root: int, token: str, managed: set[int]) -> list[psutil.Process]:
    """Every live process of the run rooted at ROOT (ROOT included when alive).

    MANAGED are the root pids of all runs this engine owns; their subtrees are never
    attributed to another run.
    """
    children = _children_map()
    pids = set(_subtree(root, children)) if psutil.pid_exists(root) else set()
    me = os.getpid()
    for orphan in children.get(me, ()):
        if orphan in managed or orphan in pids:
            continue
        if _belongs(orphan, root, token):
            pids.update(_subtree(orphan, children))
    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            procs.append(psutil.Process(pid))
    return procs


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
    if HAS_CHILDREN_LISTS:
        return set(children_of(os.getpid()))
    return {p.pid for p in psutil.Process().children()}


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


def alive(proc: psutil.Process) -> bool:
    """True unless PROC is gone, replaced by another process, or a zombie."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def send(procs: list[psutil.Process], sig: int, group: int | None = None) -> None:
    """Send SIG to GROUP (a process group id) and to each of PROCS, ignoring the departed."""
    if group is not None:
        with contextlib.suppress(OSError):
            os.killpg(group, sig)
    for proc in procs:
        with contextlib.suppress(psutil.Error, OSError):
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
) -> bool:
    """Stop the run rooted at ROOT: SIG to its whole tree, SIGKILL survivors after TIMEOUT_MS.

    Polls every 100 ms (as PM2 does), but wakes at once when the root exits. Returns True
    when nothing of the tree is left alive. With TREEKILL false only ROOT is signalled.
    """

    def look() -> list[psutil.Process]:
        procs = collect(root, token, managed) if treekill else _just(root)
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


def _just(root: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return [psutil.Process(root)]
    return []


async def _pause(seconds: float, root_exited: asyncio.Future[int] | None) -> None:
    if root_exited is None or root_exited.done():
        await asyncio.sleep(seconds)
    else:
        await asyncio.wait([root_exited], timeout=seconds)
