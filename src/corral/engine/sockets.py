"""Provides SharedSockets: listening sockets the engine owns for a cluster app.

The engine binds each address once; every instance inherits the sockets as file
descriptors 3, 4, … with systemd's socket-activation variables (LISTEN_FDS, LISTEN_PID,
LISTEN_FDNAMES), so gunicorn, uvicorn `--fd 3` and any sd_listen_fds() program accept on
them and the kernel spreads connections. The sockets outlive every instance: while one
is replaced, connections wait in the backlog instead of being refused.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
from collections.abc import Sequence

from corral.config.listen import ListenAddress, parse_listen

BACKLOG = 1024
FIRST_FD = 3
"""sd_listen_fds(3): inherited sockets start at fd 3."""


class BindError(OSError):
    """An address could not be bound; the message names it."""


class SharedSockets:
    """The bound sockets of one app, and how to hand them to a child."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self.addresses: list[ListenAddress] = [parse_listen(a) for a in addresses]
        self.sockets: list[socket.socket] = []

    def bind(self) -> None:
        """Bind and listen on every address; on any failure nothing stays bound."""
        try:
            for address in self.addresses:
                self.sockets.append(_bind(address))
        except OSError as exc:
            self.close()
            raise BindError(exc.errno, exc.strerror or str(exc)) from exc

    def close(self) -> None:
        """Close every socket (the app was deleted); unlink Unix socket files."""
        for sock, address in zip(self.sockets, self.addresses, strict=False):
            sock.close()
            if address.family == "unix":
                with contextlib.suppress(OSError):
                    os.unlink(address.path)
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

    def wrap(self, argv: list[str]) -> list[str]:
        """ARGV run through bash so the sockets land on fds 3, 4, … and LISTEN_PID is the
        child's own pid (only known after fork; exec keeps it)."""
        fds = self.fds()
        high = max(fds) + 1
        park = " ".join(f"{high + i}<&{fd}" for i, fd in enumerate(fds))
        place = " ".join(f"{FIRST_FD + i}<&{high + i} {high + i}<&-" for i in range(len(fds)))
        script = f'exec {park}; exec {place}; export LISTEN_PID=$$; exec "$@"'
        return ["/bin/bash", "-c", script, "corral-listen", *argv]


def _bind(address: ListenAddress) -> socket.socket:
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
        target = (address.host, address.port)
    try:
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
        probe.connect(path)
    except OSError:
        return True
    finally:
        probe.close()
    return False


def _fdname(address: ListenAddress) -> str:
    text = address.path if address.family == "unix" else f"{address.host}:{address.port}"
    return shlex.quote(text).replace(":", "_")
