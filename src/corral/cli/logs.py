"""Provides `corral logs`, `flush` and `reloadLogs`.

`logs` prints the last N lines of the targets' files, then follows live lines from the
daemon's event stream (not by polling files), in PM2's `ID|NAME | line` form with stderr
in red. Lines in files written with `time`/`log_date_format` are merged in time order;
otherwise each process's output comes before its errors, as PM2 prints them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

from corral.cli import session, targets
from corral.cli.main import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from corral.daemon.client import Client

RED, DIM, INVERSE, RESET = "\x1b[31m", "\x1b[2m", "\x1b[7m", "\x1b[0m"
STAMP = re.compile(rb"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?)")
DEFAULT_TIMESTAMP = "%Y-%m-%d-%H:%M:%S"


LOGS_HELP = """\
Show the last lines of the apps' log files, then follow new lines as they come
(Ctrl-C to stop). Lines look like "ID|NAME | text"; stderr lines are red on a
terminal. Files written with time or log_date_format are merged in time order.
With no process yet, it says so and waits for the first one.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "logs",
        help="show and follow app logs",
        description=LOGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", nargs="?", default="all", help="id, name, namespace or all")
    parser.add_argument("--lines", type=int, default=15, help="history lines per file (15)")
    parser.add_argument("--nostream", action="store_true", help="print the history and exit")
    parser.add_argument("--raw", action="store_true", help="lines only, no ID|NAME prefix")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--timestamp", nargs="?", const=DEFAULT_TIMESTAMP, help="prefix live lines with a time"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--out", action="store_true", help="stdout only")
    which.add_argument("--err", action="store_true", help="stderr only")
    parser.add_argument("--highlight", help="highlight this text")
    parser.add_argument("--grep", help="only lines matching this regular expression")
    session.add_host_flags(parser)
    parser.set_defaults(module=__name__, action="logs")

    parser = sub.add_parser("flush", help="empty log files", description="Empty log files.")
    parser.add_argument("target", nargs="?", help="id, name, namespace or all (default all)")
    parser.set_defaults(module=__name__, action="flush")

    parser = sub.add_parser(
        "reloadLogs",
        help="reopen log files (after logrotate)",
        description="Reopen every log file, as SIGUSR2 to the daemon does.",
    )
    parser.set_defaults(module=__name__, action="reloadLogs")


@session.guarded
def run(args: argparse.Namespace) -> int:
    with session.connect() as client:
        return VERBS[args.action](client, args)


def flush(client: Client, args: argparse.Namespace) -> int:
    rows = targets.call(client, "flush", [args.target]) if args.target else client.call("flush")
    print(f"[corral] flushed the logs of {len(rows)} process(es)")
    return 0


def reload_logs(client: Client, args: argparse.Namespace) -> int:
    client.call("reload_logs")
    print("[corral] log files reopened")
    return 0


def logs(client: Client, args: argparse.Namespace) -> int:
    if args.lines < 0:
        raise UsageError("--lines must be 0 or more")
    try:
        grep = re.compile(args.grep) if args.grep else None
    except re.error as exc:
        raise UsageError(f"--grep: {exc}") from None
    if args.target == "all":
        rows = client.call("list")
        if not rows:  # say why nothing shows, then wait for the first app (as PM2 does)
            print("[corral] no process yet; waiting for logs (Ctrl-C to stop)", file=sys.stderr)
            sys.stderr.flush()
    else:
        rows = targets.call(client, "list", [args.target])
    out = Printer(args, grep, sys.stdout)
    streams = ("out",) if args.out else ("err",) if args.err else ("out", "err")
    remote = client if session.remote_host() is not None else None
    for stream, row, line in history(rows, streams, args.lines, remote):
        out.line(row["id"], row["name"], stream, line.decode("utf-8", "replace"), None)
    sys.stdout.flush()
    if args.nostream:
        return 0
    ids = {row["id"] for row in rows}
    names = {row["name"] for row in rows} if args.target != "all" else None
    try:
        return _follow(client, out, streams, ids, names)
    except BrokenPipeError:  # `corral logs | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 0


VERBS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "logs": logs,
    "flush": flush,
    "reloadLogs": reload_logs,
}
"""`args.action` (set by each verb's parser) -> the function that does it."""


def _follow(
    client: Any, out: Printer, streams: tuple[str, ...], ids: set[int], names: set[str] | None
) -> int:
    """Print live lines of the targets until interrupted."""
    for event in client.subscribe(logs=True):
        if event["kind"] == "lagged":  # this reader fell behind: say how much it missed
            out.lagged(int(event["lines"]))
            sys.stdout.flush()
            continue
        if event["kind"] != "log" or event["stream"] not in streams:
            continue
        if names is not None and event["id"] not in ids and event["name"] not in names:
            continue
        for text in event["lines"]:
            out.line(event["id"], event["name"], event["stream"], text, event["ts"])
        sys.stdout.flush()
    return 0


def history(
    rows: list[Any], streams: tuple[str, ...], count: int, client: Client | None = None
) -> list[tuple[str, Any, bytes]]:
    """The last COUNT lines of each file of ROWS, merged by their timestamps when all have one.

    The files are read here, or by the daemon through CLIENT when it runs on another
    machine (`--host`), where they are.
    """
    from corral.tailfile import tail

    read: Callable[[str, int], list[bytes]] = tail
    if client is not None:
        wanted = [row["id"] for row in rows]
        got = client.call("tail", ids=wanted, streams=list(streams), lines=count)

        def read(path: str, count: int) -> list[bytes]:
            return [line.encode("utf-8", "surrogateescape") for line in got.get(path, [])]

    found: list[tuple[str, Any, bytes]] = []
    seen: set[str] = set()
    for row in rows:
        for stream in streams:
            path = (row.get("logs") or {}).get(stream)
            if not path or path in seen:
                continue
            seen.add(path)
            found += [(stream, row, line) for line in read(path, count)]
    stamps = [STAMP.match(line) for _, _, line in found]
    if found and all(stamps):
        order = sorted(range(len(found)), key=lambda i: stamps[i].group(1))  # type: ignore[union-attr]
        found = [found[i] for i in order]
    return found


class Printer:
    """Formats one line as PM2 does, or raw, or as JSON."""

    def __init__(self, args: argparse.Namespace, grep: re.Pattern[str] | None, out: Any) -> None:
        self.args, self.grep, self.out = args, grep, out
        self.colour = out.isatty() and not os.environ.get("NO_COLOR")

    def lagged(self, missed: int) -> None:
        """The gap a reader that fell behind left: how many lines it missed."""
        text = f"[corral] this reader fell behind and missed {missed} lines; live again"
        if self.args.json:
            obj = {"message": text, "type": "lagged", "missed_lines": missed}
            self.out.write(json.dumps(obj) + "\n")
        else:
            self.out.write(text + "\n")

    def line(self, pm_id: int, name: str, stream: str, text: str, ts: float | None) -> None:
        if self.grep is not None and not self.grep.search(text):
            return
        if self.args.json:
            when = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ts)) if ts else None
            obj = {
                "message": text,
                "timestamp": when,
                "type": stream,
                "process_id": pm_id,
                "app_name": name,
            }
            self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            return
        if self.args.highlight and self.colour:
            text = text.replace(self.args.highlight, f"{INVERSE}{self.args.highlight}{RESET}")
        if self.args.raw:
            self.out.write(text + "\n")
            return
        stamp = ""
        if self.args.timestamp and ts is not None:
            stamp = time.strftime(self.args.timestamp, time.localtime(ts)) + " "
        head = f"{pm_id}|{name} | "
        if self.colour:
            head = f"{RED if stream == 'err' else DIM}{head}{RESET}"
        self.out.write(f"{stamp}{head}{text}\n")
