"""Provides atomic file replacement: write a temporary sibling, fsync, rename, fsync the folder.

A reader (another CLI, the daemon after a crash, `resurrect` after a power cut) sees the
old file or the new one, never half of either. `durable=False` skips both fsyncs for files
that only matter while the machine stays up (state.json: after a power cut every process
it lists is gone anyway), so writing them costs a rename, not a disk flush.
"""

from __future__ import annotations

import contextlib
import os

from corral.home import FILE_MODE, keep_mode

__all__ = ["FILE_MODE", "atomic_write", "fsync_folder", "read_bytes"]


def atomic_write(
    path: str,
    data: bytes,
    *,
    durable: bool = True,
    backup: str | None = None,
    folder_mode: int | None = None,
) -> None:
    """Replace PATH with DATA atomically; the current PATH becomes BACKUP first, if given.

    The backup is a hard link of the current file, made just before the rename, so at
    every moment PATH holds a whole dump and BACKUP the previous whole one. Modes are
    re-asserted on every write (FILE_MODE for both, FOLDER_MODE for the folder if given),
    and a mode that had to be fixed is reported (home.keep_mode).
    """
    folder = os.path.dirname(path) or "."
    if folder_mode is not None:
        keep_mode(folder, folder_mode)
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # a leftover temporary file keeps its old mode
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    try:
        if backup is not None and os.path.exists(path):
            keep_mode(backup, FILE_MODE)  # replaced below, but a wrong mode is news
            keep_mode(path, FILE_MODE)  # the backup is this very file from now on
            _link_over(path, backup)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_folder(folder)


def _link_over(source: str, target: str) -> None:
    """Make TARGET another name of SOURCE, replacing TARGET atomically."""
    tmp = f"{target}.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.link(source, tmp)
    os.replace(tmp, target)


def fsync_folder(folder: str) -> None:
    """Make a rename in FOLDER durable (the directory entry is data too)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_bytes(path: str) -> bytes | None:
    """PATH's content, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
