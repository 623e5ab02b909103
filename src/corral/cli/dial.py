"""Provides `corral dial-stdio`: this machine's daemon socket on stdin and stdout.

It is the one remote entry point: `ssh HOST corral dial-stdio` gives a client on another
machine the same byte stream a local CLI gets from the socket, so every verb and the
monitor work across machines with nothing listening on the network. The daemon still
checks the peer's uid, which here is the ssh user's. Bytes pass through unchanged in both
directions, with pipe backpressure: a slow reader slows this bridge, and the daemon's
per-client limits take it from there.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys

from corral.cli import session
from corral.cli.main import Failure
from corral.daemon.client import NotRunning, open_socket

CHUNK = 65536


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dial-stdio",
        help="bridge stdin/stdout to the daemon's socket (for `ssh HOST corral dial-stdio`)",
        description="Bridge stdin and stdout to this machine's daemon socket. Used by "
        "`corral monit HOST` and `--host HOST` through ssh; starts no daemon unless --start.",
    )
    parser.add_argument(
        "--start", action="store_true", help="start the daemon first if none is running"
    )
    parser.set_defaults(module=__name__)


def run(args: argparse.Namespace) -> int:
    where = session.where()
    try:
        sock = open_socket(where)
    except NotRunning as exc:
        if not args.start:
            raise Failure(f"{exc} (dial-stdio --start starts one)") from None
        session.connect(start=True).close()
        sock = open_socket(where)
    sock.settimeout(None)
    with sock:
        bridge(sock, sys.stdin.fileno(), sys.stdout.fileno())
    return 0


def bridge(sock: socket.socket, rfd: int, wfd: int) -> None:
    """Copy RFD to SOCK and SOCK to WFD until the daemon closes its side.

    End of input half-closes the socket (the daemon then finishes what it was sending);
    the bridge ends when the daemon's side ends or the output can no longer be written.
    """
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(rfd, selectors.EVENT_READ)
    try:
        while True:
            for key, _ in selector.select():
                if key.fileobj is sock:
                    data = sock.recv(CHUNK)
                    if not data:
                        return
                    try:
                        _write_all(wfd, data)
                    except BrokenPipeError:
                        return
                else:
                    data = os.read(rfd, CHUNK)
                    if data:
                        sock.sendall(data)
                    else:
                        selector.unregister(rfd)
                        sock.shutdown(socket.SHUT_WR)
    finally:
        selector.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
