"""Provides dump.json: the saved process list that `resurrect` (and boot) brings back.

    {"format": "corral-dump", "version": 1, "corral": "0.1.0", "saved_at": 1732740001.2,
     "apps": [{"id": 0, "name": "web", "status": "online", "spec": {...AppSpec...},
               "watch_on": true, "paused": false}]}

One entry per process (PM2's dump holds one per process too), in id order, each with the
app's full resolved config (`spec`, whose `env` is the whole child environment) and its
desired state: `online`, or `stopped` when the user stopped it, and its runtime state:
`watch_on` (the watch switch, which `restart --watch` flips) and `paused` (a user's stop
holds its watch and cron until the next start). Both are optional when read (a dump
from before them: the switch follows the spec, and a stopped app is paused).

Saving keeps the previous file as dump.json.bak; a dump.json that does not parse is never
rotated over that backup nor deleted (as PM2 does): it is set aside as
dump.json.broken-<time>, by `save` before it writes, and by `resurrect` once it has fallen
back to the backup. `load` itself never writes.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import corral
from corral.home import HOME_MODE
from corral.persist.files import atomic_write, read_bytes

FORMAT = "corral-dump"
VERSION = 1
"""The format this corral writes and reads; a dump with another version is refused."""
DESIRED = ("online", "stopped")


class DumpError(Exception):
    """The dump cannot be used; the message says why and what to do."""


class DumpMissing(DumpError):
    """Nothing was ever saved (no dump.json, no backup)."""


class DumpVersion(DumpError):
    """The dump was written in a format this corral does not know."""


class DumpCorrupt(DumpError):
    """The file is not a corral dump (truncated, edited by hand, another program's)."""


class EmptyList(DumpError):
    """`save` of an empty process list without --force."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One saved process: what to run, and whether it should run."""

    name: str
    status: str
    """`online` (started by resurrect) or `stopped` (registered, not started)."""
    spec: dict[str, Any]
    """AppSpec.to_dict() form; the daemon checks it again when it gets it."""
    id: int | None = None
    """The id it had, given again when free, so its log files stay the same."""
    watch_on: bool | None = None
    """Its watch switch (None: an older dump; then on when the spec watches)."""
    paused: bool | None = None
    """Whether a user's stop held its watch and cron (None: an older dump; then when stopped)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "spec": self.spec,
            "watch_on": self.watch_on,
            "paused": self.paused,
        }


@dataclass(frozen=True, slots=True)
class Loaded:
    """A dump that was read, where it came from, and what the reader should be told."""

    entries: list[Entry]
    path: str
    warnings: list[str] = field(default_factory=list)
    broken: str | None = None
    """dump.json when it exists but could not be read (the backup was used instead)."""


def paths(root: str) -> tuple[str, str]:
    """dump.json and dump.json.bak in the home ROOT."""
    path = os.path.join(root, "dump.json")
    return path, path + ".bak"


def encode(entries: list[Entry], *, pretty: bool = True) -> bytes:
    """The file's bytes for ENTRIES (indented for `save`, which people read)."""
    body = {
        "format": FORMAT,
        "version": VERSION,
        "corral": corral.__version__,
        "saved_at": time.time(),
        "apps": [entry.to_dict() for entry in entries],
    }
    text = json.dumps(body, indent=2 if pretty else None, ensure_ascii=False)
    return (text + "\n").encode()


def decode(data: bytes, path: str) -> list[Entry]:
    """The entries in DATA; DumpCorrupt or DumpVersion naming PATH."""
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DumpCorrupt(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise DumpCorrupt(f"{path} is not a corral dump")
    version = body.get("version")
    if version != VERSION:
        raise DumpVersion(
            f"{path} has format version {version!r}; this corral ({corral.__version__}) "
            f"reads version {VERSION}: run the corral that wrote it, or start the apps again "
            "and `corral save`"
        )
    apps = body.get("apps")
    if not isinstance(apps, list):
        raise DumpCorrupt(f"{path}: `apps` is not a list")
    return [_entry(item, path, n) for n, item in enumerate(apps)]


def _entry(item: object, path: str, n: int) -> Entry:
    if not isinstance(item, dict):
        raise DumpCorrupt(f"{path}: app #{n} is not an object")
    spec, name, status, pm_id = (
        item.get("spec"),
        item.get("name"),
        item.get("status"),
        item.get("id"),
    )
    if not isinstance(spec, dict) or not isinstance(name, str) or status not in DESIRED:
        raise DumpCorrupt(f"{path}: app #{n} lacks a name, a spec or a status online|stopped")
    watch_on, paused = item.get("watch_on"), item.get("paused")
    return Entry(
        name,
        str(status),
        spec,
        pm_id if type(pm_id) is int else None,
        watch_on if isinstance(watch_on, bool) else None,
        paused if isinstance(paused, bool) else None,
    )


def load(root: str) -> Loaded:
    """The saved list of the home ROOT: dump.json, or its backup when that is unusable.

    Raises DumpMissing when nothing was saved, DumpVersion for an unknown format, and
    DumpCorrupt when neither file can be read. Never writes.
    """
    path, backup = paths(root)
    data = read_bytes(path)
    problem = f"{path} does not exist"
    if data is not None:
        try:
            return Loaded(decode(data, path), path)
        except DumpCorrupt as exc:
            problem = str(exc)
    spare = read_bytes(backup)
    if spare is None:
        if data is None:
            raise DumpMissing(f"nothing saved yet: {path} does not exist (run `corral save`)")
        raise DumpCorrupt(f"{problem}, and there is no {os.path.basename(backup)}")
    try:
        entries = decode(spare, backup)
    except DumpCorrupt as exc:
        raise DumpCorrupt(f"{problem}; the backup is no better: {exc}") from None
    broken = path if data is not None else None
    return Loaded(entries, backup, [f"{problem}; using the backup {backup}"], broken)


def set_aside(path: str) -> str:
    """Rename the unreadable PATH to PATH.broken-<local time> and return the new name.

    Kept, not deleted: it may hold the only copy of a list someone edited by hand.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside, n = f"{path}.broken-{stamp}", 1
    while os.path.exists(aside):  # twice in one second: never replace an older one
        aside, n = f"{path}.broken-{stamp}.{n}", n + 1
    os.rename(path, aside)
    return aside


def save(root: str, entries: list[Entry], *, force: bool = False, pretty: bool = True) -> str:
    """Write ENTRIES as the home ROOT's dump (the previous one becomes the backup).

    An empty list needs FORCE (PM2's rule: a `save` right after a reboot must not wipe
    the list it was meant to keep). Returns the path written.
    """
    if not entries and not force:
        raise EmptyList("no process to save; `corral save --force` saves an empty list")
    path, backup = paths(root)
    current = read_bytes(path)
    keep: str | None = backup
    if current is not None:
        try:
            decode(current, path)
        except DumpCorrupt:
            # Rotating it would replace the last good list with garbage: set it aside.
            set_aside(path)
            keep = None
        except DumpVersion:
            pass  # another corral's list: it becomes the backup, still whole
    atomic_write(path, encode(entries, pretty=pretty), backup=keep, folder_mode=HOME_MODE)
    return path


def clear(root: str) -> str:
    """Save an empty list (PM2's `cleardump`); the previous list stays as the backup."""
    return save(root, [], force=True)


def same_apps(data: bytes | None, entries: list[Entry]) -> bool:
    """Whether DATA (a dump file's bytes) already holds exactly ENTRIES."""
    if data is None:
        return False
    try:
        saved = [e.to_dict() for e in decode(data, "")]
    except DumpError:
        return False
    # Through JSON both ways, so tuples and lists compare equal.
    return json.dumps(saved, sort_keys=True, ensure_ascii=False) == json.dumps(
        [e.to_dict() for e in entries], sort_keys=True, ensure_ascii=False
    )
