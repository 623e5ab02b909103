"""Provides SocketPool and SharedSockets: the listening sockets the engine owns.

The pool binds each address once, for whichever apps use it (declared with `listen`, or
asked for on demand by an app's own bind()/listen() through the broker), and closes it
when the last of them is deleted: two apps on one port share it, as in PM2's cluster.
SharedSockets are one app's declared addresses: every instance inherits them as file
descriptors 3, 4, … with systemd's socket-activation variables (LISTEN_FDS, LISTEN_PID,
LISTEN_FDNAMES), so gunicorn, uvicorn `--fd 3` and any sd_listen_fds() program accept on
them and the kernel spreads connections. The sockets outlive every instance: while one
is replaced, connections wait in the backlog instead of being refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from corral.config.listen import ListenAddress, parse_listen
from corral.sockpath import reachable

BACKLOG = 1024
FIRST_FD = 3
"""sd_listen_fds(3): inherited sockets start at fd 3."""


class BindError(OSError):
    """An address could not be bound; the message names it."""


@dataclass(frozen=True, slots=True)
class Options:
    """How an on-demand socket is bound, as the asking app would have bound it."""

    v6only: bool | None = None
    reuse_port: bool = False


@dataclass(slots=True)
class _Entry:
    sock: socket.socket
    address: ListenAddress
    users: set[str]


class SocketPool:
    """Every listening socket the engine holds, by address, with the apps that use it."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, int], _Entry] = {}

    def acquire(
        self, user: str, address: ListenAddress, options: Options | None = None
    ) -> socket.socket:
        """The socket for ADDRESS, bound now unless some app already holds it; USER (an
        app name) keeps it open until `release`. Raises OSError naming the address."""
        entry = self._entries.get(_key(address))
        if entry is None and address.family == "any":
            entry = self._entries.get(("inet6", "::", address.port)) or self._entries.get(
                ("inet", "0.0.0.0", address.port)
            )
        if entry is None:
            sock, address = _bind_any(address, options or Options())
            entry = _Entry(sock, address, set())
            self._entries[_key(address)] = entry
        entry.users.add(user)
        return entry.sock

    def release(self, user: str) -> None:
        """USER is gone: close each socket no other app uses (unlinking Unix socket files)."""
        for key, entry in list(self._entries.items()):
            entry.users.discard(user)
            if not entry.users:
                del self._entries[key]
                _close(entry)

    def close(self) -> None:
        """Close every socket (the engine is shutting down)."""
        for entry in self._entries.values():
            _close(entry)
        self._entries.clear()

    def addresses(self, user: str) -> list[str]:
        """The addresses USER holds (for messages and tests)."""
        return [e.address.text for e in self._entries.values() if user in e.users]


class SharedSockets:
    """The declared sockets of one app, and how to hand them to a child."""

    def __init__(self, addresses: Sequence[str], pool: SocketPool, user: str) -> None:
        self.addresses: list[ListenAddress] = [parse_listen(a) for a in addresses]
        self.sockets: list[socket.socket] = []
        self.pool, self.user = pool, user

    def bind(self) -> None:
        """Bind and listen on every address; on any failure nothing stays bound."""
        try:
            for address in self.addresses:
                self.sockets.append(self.pool.acquire(self.user, address))
        except OSError as exc:
            self.close()
            raise BindError(exc.errno, exc.strerror or str(exc)) from exc

    def close(self) -> None:
        """The app was deleted: give its sockets back to the pool."""
        self.pool.release(self.user)
        self.sockets = []

    @property
    def first_port(self) -> int | None:
        """The port of the first TCP socket (given to the child as PORT)."""
        for sock, address in zip(self.sockets, self.addresses, strict=False):
            if address.family != "unix":
                return int(sock.getsockname()[1])
        return None

    def fds(self) -> tuple[int, ...]:
        """The parent's descriptors, to be passed to the child."""
        return tuple(s.fileno() for s in self.sockets)

    def env(self) -> dict[str, str]:
        """Socket-activation variables except LISTEN_PID (set by the wrapper in the child)."""
        names = ":".join(_fdname(a) for a in self.addresses)
        env = {"LISTEN_FDS": str(len(self.sockets)), "LISTEN_FDNAMES": names}
        port = self.first_port
        if port is not None:
            env["PORT"] = str(port)
        return env

    def wrap(self, argv: list[str], extra: Sequence[int] = ()) -> list[str]:
        """ARGV run through bash so the sockets land on fds 3, 4, … (then EXTRA fds, in
        order, right after them) and LISTEN_PID is the child's own pid (only known after
        fork; exec keeps it)."""
        fds = (*self.fds(), *extra)
        high = max(fds) + 1
        park = " ".join(f"{high + i}<&{fd}" for i, fd in enumerate(fds))
        place = " ".join(f"{FIRST_FD + i}<&{high + i} {high + i}<&-" for i in range(len(fds)))
        script = f'exec {park}; exec {place}; export LISTEN_PID=$$; exec "$@"'
        return ["/bin/bash", "-c", script, "corral-listen", *argv]


def _key(address: ListenAddress) -> tuple[str, str, int]:
    if address.family == "unix":
        return ("unix", address.path, 0)
    return (address.family, address.host, address.port)


def _close(entry: _Entry) -> None:
    entry.sock.close()
    if entry.address.family == "unix":
        with contextlib.suppress(OSError):
            os.unlink(entry.address.path)


def _bind_any(address: ListenAddress, options: Options) -> tuple[socket.socket, ListenAddress]:
    """Bind ADDRESS; "any" (Node's listen(port) without a host) is IPv6 dual-stack as Node
    binds it, or IPv4 where the machine has no IPv6."""
    if address.family != "any":
        return _bind(address, options), address
    six = ListenAddress(f"[::]:{address.port}", "inet6", host="::", port=address.port)
    try:
        return _bind(six, Options(False, options.reuse_port)), six
    except OSError as exc:
        if exc.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
            raise
    four = ListenAddress(f"0.0.0.0:{address.port}", "inet", host="0.0.0.0", port=address.port)
    return _bind(four, options), four


def _bind(address: ListenAddress, options: Options = Options()) -> socket.socket:
    if address.family == "unix":
        with contextlib.suppress(FileNotFoundError):
            if os.path.exists(address.path) and _is_stale(address.path):
                os.unlink(address.path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: object = address.path
    else:
        family = socket.AF_INET6 if address.family == "inet6" else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if options.reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6 and options.v6only is not None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(options.v6only))
        target = (address.host, address.port)
    try:
        if isinstance(target, str):
            with reachable(target) as short:
                sock.bind(short)
        else:
            sock.bind(target)  # type: ignore[arg-type]
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {address.text}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def _is_stale(path: str) -> bool:
    """A Unix socket file nobody answers on may be replaced."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with reachable(path) as short:
            probe.connect(short)
    except OSError:
        return True
    finally:
        probe.close()
    return False


def _fdname(address: ListenAddress) -> str:
    text = address.path if address.family == "unix" else f"{address.host}:{address.port}"
    return shlex.quote(text).replace(":", "_")
