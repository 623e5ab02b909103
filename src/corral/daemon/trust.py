"""Provides `check_home` and `check_peer`: the CLI's checks before it tells a daemon anything.

A CLI sends the daemon whole environments (tokens, passwords included), so it must know
the socket it talks to is its own user's daemon and not a fake put there by someone else:
a `CORRAL_HOME` in another user's folder, a socket planted in a world-writable one. Before
anything is sent, the home and the socket must belong to the user running the CLI (root's
own, when run as root) and be writable by nobody else, and the process that accepted the
connection must run as that user (SO_PEERCRED, as the daemon checks its clients).
Stdlib only: this runs on every command.
"""

from __future__ import annotations

import os
import stat

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket


class Untrusted(Exception):
    """The home, the socket or the process behind it is not the user's own (exit 2)."""


def _refuse(path: str, problem: str) -> Untrusted:
    return Untrusted(
        f"refusing to use {path}: {problem}. corral only talks to a daemon whose home and "
        "socket belong to you and that nobody else may write to; set CORRAL_HOME to a "
        "folder of your own"
    )


def _check(path: str, info: os.stat_result, what: str, uid: int) -> None:
    if info.st_uid != uid:
        raise _refuse(path, f"the {what} belongs to uid {info.st_uid}, and you are uid {uid}")
    if info.st_mode & 0o022:
        mode = stat.S_IMODE(info.st_mode)
        raise _refuse(path, f"the {what} is writable by other users (mode {mode:04o})")


def check_home(root: str, sock: str) -> None:
    """Raise Untrusted unless ROOT (if it exists) and SOCK (if it exists) are ours alone."""
    uid = os.geteuid()
    try:
        info = os.stat(root)  # a home that is a symlink to a folder of ours is fine
    except FileNotFoundError:
        return  # nothing there yet: the CLI creates it, ours, 0700
    except NotADirectoryError:
        raise _refuse(root, "a part of it is not a folder") from None
    if not stat.S_ISDIR(info.st_mode):
        raise _refuse(root, "the home is not a folder")
    _check(root, info, "home", uid)
    try:
        info = os.lstat(sock)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise _refuse(sock, "it is not a socket")
    _check(sock, info, "socket", uid)


def check_peer(conn: socket.socket, path: str) -> None:
    """Raise Untrusted unless the process that accepted CONN runs as our user."""
    import socket
    import struct

    uid = os.geteuid()
    try:
        raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError as exc:
        raise _refuse(path, f"cannot tell who listens on it ({exc})") from None
    pid, peer, _gid = struct.unpack("3i", raw)
    if peer != uid:
        raise _refuse(path, f"the process listening on it (pid {pid}) runs as uid {peer}")
