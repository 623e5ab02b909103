"""Provides state.json: what the running daemon supervises, pid by pid, for crash recovery.

    {"format": "corral-state", "version": 1, "daemon_pid": 4242, "boot_id": "…",
     "closing": false,
     "processes": [{"id": 0, "name": "web", "status": "online", "spec": {…},
                    "pid": 4300, "create_time": 1732740001.23,
                    "watch_on": true, "paused": false}],
     "strays": [{"pid": 4377, "create_time": 1732740002.5, "id": 0}]}

`watch_on` (the watch switch) and `paused` (a user's stop holds watch and cron) are the
process's runtime state: recovery gives them back, so watching and cron go on as before.

`strays` are the processes re-parented to the daemon (their parent died: double forks,
daemonizers), with the app they were last seen under (`id`, null if none): when the
daemon dies they are re-parented again, to init, and nothing else (group, session,
environment) may say they were ours.

The daemon rewrites it whenever a pid, the table or a desired state changes, and deletes it
when it exits cleanly. So a state.json found at start means the previous daemon died
(kill -9, OOM): its processes may still run, unsupervised, and `recover` deals with them.
A pid counts as one of ours only if it is alive *and* started at the recorded time, so a
pid the kernel gave to something else since is never touched. No fsync: after a power cut
every listed process is gone anyway (and `boot_id` tells that the machine restarted).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from corral.engine.tree import start_ticks
from corral.home import HOME_MODE
from corral.persist.files import atomic_write, read_bytes

FORMAT = "corral-state"
VERSION = 1
TOLERANCE_S = 0.01
"""Start times are equal when computed from the same boot; this absorbs float rounding."""


@dataclass(frozen=True, slots=True)
class Instance:
    """One process the daemon supervised."""

    id: int
    name: str
    status: str
    """Desired state: `online`, or `stopped` when the user stopped it."""
    spec: dict[str, Any]
    pid: int | None = None
    create_time: float | None = None
    """The pid's start time (psutil create_time), to tell it from a reused pid."""
    watch_on: bool | None = None
    """Its watch switch (None: written by a corral that did not save it)."""
    paused: bool | None = None
    """Whether a user's stop holds its watch and cron (None: not saved)."""


@dataclass(frozen=True, slots=True)
class Stray:
    """A process re-parented to the daemon, and the process id it was last seen under."""

    pid: int
    create_time: float
    id: int | None = None


@dataclass(frozen=True, slots=True)
class State:
    """The whole file."""

    daemon_pid: int
    boot_id: str
    instances: list[Instance]
    closing: bool = False
    """The daemon was shutting down (`kill`): its apps are not to be brought back."""
    strays: list[Stray] = field(default_factory=list)


def path(root: str) -> str:
    return os.path.join(root, "state.json")


def boot_id() -> str:
    """This boot's id (Linux), or the boot time elsewhere."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return str(int(_boot_time()))


def _boot_time() -> float:
    """When the machine booted (seconds since the epoch): `btime` in /proc/stat.

    Read directly, as psutil would, so the daemon need not load psutil (about 4 MiB).
    """
    with open("/proc/stat", "rb") as handle:
        for line in handle:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


_TICKS = os.sysconf("SC_CLK_TCK")


def create_time(pid: int) -> float | None:
    """When PID started (None if it is gone); the same figure psutil gives."""
    ticks = start_ticks(pid)
    if ticks is None:
        return None
    try:
        return _boot_time() + ticks / _TICKS
    except OSError:
        return None


def same_process(pid: int, started: float | None) -> bool:
    """Whether PID is alive and is the process that started at STARTED (not a reuse)."""
    if started is None:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    fields = data[data.rfind(b")") + 2 :].split()
    if len(fields) < 20 or fields[0] == b"Z":
        return False
    try:
        return abs(_boot_time() + int(fields[19]) / _TICKS - started) < TOLERANCE_S
    except (OSError, ValueError):
        return False


def encode(state: State) -> bytes:
    body = {
        "format": FORMAT,
        "version": VERSION,
        "daemon_pid": state.daemon_pid,
        "boot_id": state.boot_id,
        "closing": state.closing,
        "processes": [
            {
                "id": i.id,
                "name": i.name,
                "status": i.status,
                "spec": i.spec,
                "pid": i.pid,
                "create_time": i.create_time,
                "watch_on": i.watch_on,
                "paused": i.paused,
            }
            for i in state.instances
        ],
        "strays": [{"pid": s.pid, "create_time": s.create_time, "id": s.id} for s in state.strays],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def write(root: str, state: State) -> None:
    """Replace state.json atomically (not durably: see the module's docstring)."""
    atomic_write(path(root), encode(state), durable=False, folder_mode=HOME_MODE)


def remove(root: str) -> None:
    """The daemon exits cleanly: nothing is left to recover."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path(root))


def read(root: str) -> State | None:
    """The state file of the home ROOT; None when absent. ValueError when unreadable."""
    data = read_bytes(path(root))
    if data is None:
        return None
    try:
        body = json.loads(data)
        if body.get("format") != FORMAT or body.get("version") != VERSION:
            raise ValueError("not a corral state file of version 1")
        instances = [
            Instance(
                int(p["id"]),
                str(p["name"]),
                "stopped" if p.get("status") == "stopped" else "online",
                dict(p["spec"]),
                int(p["pid"]) if p.get("pid") else None,
                float(p["create_time"]) if p.get("create_time") is not None else None,
                _flag(p.get("watch_on")),
                _flag(p.get("paused")),
            )
            for p in body["processes"]
        ]
        strays = [
            Stray(int(s["pid"]), float(s["create_time"]), _id(s.get("id")))
            for s in body.get("strays") or ()
        ]
        return State(
            int(body["daemon_pid"]),
            str(body["boot_id"]),
            instances,
            bool(body["closing"]),
            strays,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path(root)} is unreadable: {exc}") from None


def _id(value: object) -> int | None:
    return value if type(value) is int else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None
