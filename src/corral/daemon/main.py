"""Provides the daemon's entry point, `python -m corral.daemon [--home H] [--foreground]`.

Without --foreground it forks once and the parent exits, so the daemon is nobody's
child: the CLI that launched it (in a new session, stdio on daemon.log) reaps the parent
at once, and the daemon, no longer a session leader, can never acquire a terminal.

The daemon holds an exclusive flock on daemon.pid while it lives (a second daemon for
the same home exits 1). SIGTERM and SIGINT stop every app gracefully, then exit 0;
SIGHUP is caught and dropped (the terminal that started the first CLI may close): by a
handler, not SIG_IGN, which every app would inherit.

Before serving, it recovers from a predecessor that died (corral.persist.daemon: a
state.json left behind means its apps run unsupervised); from then on a Keeper keeps
state.json and, with autosave, dump.json. Shutting down freezes the dump first, ends
any descendant left once every app has stopped (nothing outlives the daemon), and a
clean exit deletes state.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

import corral
from corral.daemon.log import configure as configure_log
from corral.daemon.log import log, printable
from corral.home import FILE_MODE, Home, home, keep_mode, report_modes_to

if TYPE_CHECKING:
    from corral.engine.events import Event


USAGE = "usage: python -m corral.daemon [--home HOME] [--foreground]"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the daemon; returns its exit code (2 for arguments it does not know).

    Two flags, read by hand: argparse and what it imports (gettext, shutil, bz2, lzma)
    would stay resident for the daemon's whole life for this one call.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    foreground = "--foreground" in args
    args = [a for a in args if a != "--foreground"]
    given: str | None = None
    if args[:1] == ["--home"] and len(args) == 2:
        given = args[1]
    elif len(args) == 1 and args[0].startswith("--home="):
        given = args[0].removeprefix("--home=")
    elif args:
        print(f"{USAGE}\npython -m corral.daemon: unknown arguments {args}", file=sys.stderr)
        return 2
    report_modes_to(log)  # a mode fixed on a private file is news for daemon.log
    where = home(given).ensure()
    if not foreground and os.fork() > 0:
        os._exit(0)
    return run(where)


def run(where: Home) -> int:
    """Serve WHERE until killed; 1 if another daemon owns it or the socket cannot be bound."""
    fd = os.open(where.pid_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another daemon owns {where.root}; exiting")
        os.close(fd)
        return 1
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    keep_mode(where.pid_file, FILE_MODE)
    keep_mode(where.log, FILE_MODE)
    signal.signal(signal.SIGHUP, _survive)
    os.chdir(where.root)  # hold no user folder busy
    try:
        return asyncio.run(_serve(where))
    except Exception:
        log("daemon failed:\n" + traceback.format_exc().rstrip())
        return 1
    finally:
        # Unlink before unlocking, so a new daemon never sees our stale pid.
        with contextlib.suppress(OSError):
            os.unlink(where.pid_file)
        os.close(fd)


async def _serve(where: Home) -> int:
    from corral.daemon.methods import RpcDispatcher
    from corral.daemon.server import AlreadyRunning, Server
    from corral.engine.supervisor import Supervisor
    from corral.persist.daemon import attach

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.set_exception_handler(_loop_error)
    supervisor = Supervisor(where.root)
    supervisor.add_sink(_log_lifecycle, lines=False)
    configure_log(where.log)
    # PM2's reloadLogs signal: reopen every log file after an external logrotate.
    loop.add_signal_handler(signal.SIGUSR2, supervisor.logs.reopen)
    keeper = None
    try:
        async with supervisor:
            dispatcher = RpcDispatcher(supervisor)
            # Before serving: a daemon that died left apps to stop and bring back.
            keeper, dispatcher.notice = await attach(
                supervisor, where.root, log, dispatcher.restore
            )
            dispatcher.keeper = keeper
            server = Server(dispatcher, where, stop.set)
            try:
                try:
                    await server.start()
                except (AlreadyRunning, OSError) as exc:
                    log(f"cannot serve: {exc}")
                    return 1
                log(
                    f"corral {corral.__version__} daemon (pid {os.getpid()}) serving {where.socket}"
                )
                await stop.wait()
            finally:
                keeper.freeze()  # the dump keeps the list as it was before the stops
            log("stopping every app")
            await server.close()
        # Every app has stopped: anything still below us escaped every app's tree.
        from corral.engine.tree import end_descendants

        if strays := await end_descendants():
            log(f"ended {strays} stray processes that no app claimed")
    finally:
        if keeper is not None:
            await keeper.close()  # a clean exit: nothing for a next daemon to recover
    log("daemon exited")
    return 0


def _survive(_signum: int, _frame: object) -> None:
    """SIGHUP: nothing to do (an exec resets a handler to default; SIG_IGN would stay)."""


def _log_lifecycle(event: Event) -> None:
    """Keep PM2's pm2.log habit: what happened to each app goes to daemon.log."""
    if event.kind == "lifecycle":
        log(f"{printable(event.name)}[{event.id}] {printable(event.message)}")


def _loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    exc = context.get("exception")
    detail = "".join(traceback.format_exception(exc)) if isinstance(exc, BaseException) else ""
    log(f"event loop: {context.get('message')} {detail}".rstrip())


if __name__ == "__main__":
    sys.exit(main())
