"""Provides what every daemon verb shares: connecting, errors, results and rendering.

Verbs compute a `Result` (rows the daemon returned, notes, an exit code) and `render`
prints it for people or as JSON (style D14). Only the standard library and the daemon's
client are imported here: `corral jlist` goes through this module.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys

from corral import __version__
from corral.cli.main import Failure, UsageError
from corral.daemon import protocol
from corral.daemon.client import Client, DaemonError, NotRunning
from corral.daemon.trust import Untrusted
from corral.home import Home, home

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

Row = dict[str, "Any"]


class Result:
    """What one verb did: the processes it touched, messages, its exit code, and for verbs
    that show rather than act, their text and their JSON form. `render` prints it."""

    __slots__ = ("data", "exit_code", "json_only", "notes", "rows", "table", "text", "verb")

    def __init__(
        self,
        verb: str,
        rows: list[Row] | None = None,
        notes: list[str] | None = None,
        exit_code: int = 0,
        table: bool = True,
        *,
        text: str = "",
        data: object = None,
        json_only: bool = False,
    ) -> None:
        self.verb = verb
        self.rows = rows or []
        """What the daemon returned for the processes the verb touched."""
        self.notes = notes or []
        self.exit_code = exit_code
        """0 ok, 1 failed or unknown target, 2 bad usage or config."""
        self.table = table
        """Print the process table afterwards (PM2 does after every action)."""
        self.text = text
        """What a showing verb prints for people (after the notes)."""
        self.data = data
        """The JSON form under --json when it is not ROWS (ping's answer, an env)."""
        self.json_only = json_only
        """Always JSON (`jlist`)."""


def guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn daemon and connection errors into the CLI's exit codes (1, or 2 for bad params)."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except DaemonError as exc:
            if exc.code == protocol.ErrorCode.BAD_PARAMS:
                raise UsageError(exc.message) from None
            raise Failure(exc.message) from None
        except BrokenPipeError:
            raise  # our reader left (`| head`): main() ends quietly, this is no failure
        except Untrusted as exc:  # someone else's home or socket: nothing was sent
            raise UsageError(str(exc)) from None
        except (NotRunning, OSError) as exc:
            raise Failure(str(exc)) from None

    return wrapper


def where() -> Home:
    """The home this CLI talks about."""
    return home()


def connect(*, start: bool = True, any_protocol: bool = False) -> Client:
    """A client of the daemon (started if needed); warns when its version differs from ours.

    A daemon speaking another protocol is refused (exit 1) unless ANY_PROTOCOL: `kill`
    and `update` use only the methods every version keeps.
    """
    remote = remote_host()
    if remote is not None:
        client = Client.over_ssh(remote)  # the remote daemon must be running already
        start = False
    try:
        client = client if remote is not None else Client.connect(where())
    except NotRunning:
        if not start:
            raise
        from corral.daemon.launch import LaunchError, connect_or_start

        try:
            client = connect_or_start(where())
        except LaunchError as exc:
            raise Failure(str(exc)) from None
        _tell_recovery(client)
    daemon = client.daemon
    if daemon.version != protocol.PROTOCOL_VERSION and not any_protocol:
        client.close()
        raise Failure(
            f"the daemon speaks protocol {daemon.version} (corral {daemon.corral}), this CLI "
            f"speaks {protocol.PROTOCOL_VERSION} (corral {__version__}); run 'corral update'"
        )
    if daemon.corral != __version__ and not any_protocol:
        print(
            f"corral: the daemon runs version {daemon.corral}, this CLI is {__version__}; "
            "run 'corral update'",
            file=sys.stderr,
        )
    return client


def remote_host() -> str | None:
    """The host this verb runs against under `--host` (None: this machine)."""
    if "corral.cli.fleet" not in sys.modules:
        return None  # no --host given: fleet was never imported
    from corral.cli.fleet import current_host

    return current_host()


def _tell_recovery(client: Client) -> None:
    """A daemon we just started may have found its predecessor dead: say so, in one line."""
    try:
        notice = client.call("ping", take_notice=True).get("notice")
    except DaemonError:
        return
    if notice:
        print(f"corral: {notice}", file=sys.stderr)


def persistence_line(client: Client) -> str:
    """The line under a table while the daemon cannot write its files ('' when it can)."""
    try:
        trouble = client.call("ping").get("persistence")
    except DaemonError:
        return ""
    return f"[corral] NOT SAVED: {trouble}\n" if trouble else ""


def add_host_flags(parser: argparse.ArgumentParser) -> None:
    """`--host HOST` (repeatable) and `--hosts FILE`: run the verb on other machines' daemons
    through ssh (see cli/fleet.py)."""
    parser.add_argument(
        "--host",
        action="append",
        dest="hosts",
        metavar="HOST",
        help="run on HOST's daemon through ssh ([user@]host[:port] or an ssh alias; repeatable)",
    )
    parser.add_argument(
        "--hosts", dest="hosts_file", metavar="FILE", help="run on every host listed in FILE"
    )
    parser.set_defaults(per_host=True)  # main runs the verb once per host (cli/fleet.py)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """`--json`: print what the verb returned as one JSON array instead of a table."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def render(result: Result, args: argparse.Namespace, client: Client | None = None) -> int:
    """Print RESULT for people (notes, text, then the table) or as JSON; returns its exit code."""
    if result.json_only or getattr(args, "json", False):
        body = result.rows if result.data is None else result.data
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
        return result.exit_code
    for note in result.notes:
        print(f"[corral] {note}")
    sys.stdout.write(result.text)
    if result.table and client is not None:
        from corral.cli import table

        rows = client.call("list")
        sys.stdout.write(table.render(rows, sys.stdout, compact_when_piped=True))
        sys.stdout.write(persistence_line(client))
    return result.exit_code


def done(verb: str, rows: list[Row]) -> str:
    """PM2's one-line summary: `stop: web (0), api (1)`."""
    if not rows:
        return f"{verb}: nothing to do"
    return f"{verb}: " + ", ".join(f"{r['name']} ({r['id']})" for r in rows)
