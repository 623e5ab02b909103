"""Provides the verbs about the daemon itself: ping, kill and update.

`kill` stops every app gracefully, then the daemon, and returns once the daemon's process
is gone (so nothing is left behind). `update` is PM2's dump, kill, resurrect: the old
daemon's processes are read, the old daemon is killed, a new one (this CLI's version)
starts and gets every process back, started unless it was stopped.
"""

from __future__ import annotations

import argparse
import os
import time

from corral.cli import session
from corral.cli.main import Failure
from corral.daemon.client import Client, NotRunning

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_TIMEOUT_S = 30.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("ping", help="start the daemon if needed and check it answers")
    session.add_json_flag(parser)
    parser.set_defaults(module=__name__, action="ping")
    parser = sub.add_parser("kill", help="stop every app, then the daemon")
    session.add_json_flag(parser)
    parser.set_defaults(module=__name__, action="kill")
    parser = sub.add_parser(
        "update", help="replace the daemon with this version, keeping every app"
    )
    session.add_json_flag(parser)
    parser.set_defaults(module=__name__, action="update")


def ping(args: argparse.Namespace) -> session.Result:
    with session.connect() as client:
        answer = client.call("ping")
    text = f"pong: daemon pid {answer.get('pid')}, corral {answer.get('version')}\n"
    if answer.get("persistence"):
        text += f"[corral] NOT SAVED: {answer['persistence']}\n"
    return session.Result("ping", table=False, text=text, data=answer)


def kill(args: argparse.Namespace) -> session.Result:
    running = _existing()
    if running is None:
        return session.Result("kill", notes=["no daemon running"], table=False)
    rows = _kill(running)
    return session.Result("kill", rows, [_killed(rows)], table=False)


def _existing() -> Client | None:
    """The running daemon (any version), or None; never starts one."""
    try:
        return session.connect(start=False, any_protocol=True)
    except NotRunning:
        return None


def _kill(client: Client) -> list[session.Row]:
    """Ask CLIENT's daemon to stop everything and exit; wait until its process is gone."""
    pid = client.daemon.extra.get("pid")
    with client:
        rows: list[session.Row] = client.call("kill")
    if isinstance(pid, int) and not _wait_gone(pid, time.monotonic() + EXIT_TIMEOUT_S):
        raise Failure(f"the daemon (pid {pid}) stopped its apps but did not exit")
    return rows


def _killed(rows: list[session.Row]) -> str:
    return f"stopped {len(rows)} process{'es' if len(rows) != 1 else ''}; daemon stopped"


def _update(args: argparse.Namespace) -> int:
    old = _existing()
    rows: list[session.Row] = []
    before = "none"
    if old is not None:
        before = f"{old.daemon.corral} (pid {old.daemon.extra.get('pid')})"
        rows = old.call("list")
        _kill(old)
    # Ids, the watch switch and the pause go along: runtime state is state (an older
    # daemon's rows lack the last two, and the new one then derives them).
    keys = ("spec", "status", "id", "watch_on", "paused")
    entries = [{k: r.get(k) for k in keys} for r in sorted(rows, key=_by_id)]
    with session.connect() as client:
        restored = client.call("restore", entries=entries) if entries else []
        after = f"{client.daemon.corral} (pid {client.daemon.extra.get('pid')})"
        note = f"daemon {before} replaced by {after}; {len(restored)} processes restored"
        return session.render(session.Result("update", restored, [note]), args, client)


def _by_id(row: session.Row) -> int:
    value = row.get("id")
    return value if isinstance(value, int) else 0


def _wait_gone(pid: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.01)
    return False


def _gone(pid: int) -> bool:
    """True once PID has exited (a zombie counts: it runs nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


VERBS: dict[str, Callable[[argparse.Namespace], session.Result | int]] = {
    "ping": ping,
    "kill": kill,
    "update": _update,
}
"""`args.action` (set by each verb's parser) -> the function that does it (update renders
its own result: it needs the new daemon's client for the table)."""


@session.guarded
def run(args: argparse.Namespace) -> int:
    result = VERBS[args.action](args)
    return result if isinstance(result, int) else session.render(result, args)
