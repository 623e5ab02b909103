"""Provides the verbs that act on existing processes: stop, restart, reload, delete, reset,
signal and scale.

Targets are ids, names, namespaces, `all`, script paths, ecosystem files (their apps) or
`-` (an ecosystem on stdin); several may be given, and every one must exist before anything
is done (exit 1 naming the unknown one, with a suggestion). `restart`/`reload` of an
ecosystem re-read it: running apps restart with the new config, missing ones start (PM2's
behaviour). Each verb is one function returning a `session.Result`; `session.render`
prints it, as text or as JSON.
"""

from __future__ import annotations

import argparse
import re

from corral.cli import session, targets
from corral.cli.main import Failure, UsageError
from corral.daemon import protocol
from corral.daemon.client import DaemonError

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from corral.daemon.client import Client

    Verb = Callable[[Client, argparse.Namespace], session.Result]

SIMPLE = {
    "stop": ("stop processes (they stay in the list)", ()),
    "restart": ("restart processes (env frozen unless --update-env)", ()),
    "reload": ("zero-downtime rolling reload, one instance after another", ()),
    "delete": ("stop processes and remove them from the list", ("del",)),
    "reset": ("zero the restart counters", ()),
}
TARGETS_HELP = "id, name, namespace, all, script path, ecosystem file, or - (stdin)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for verb, (text, aliases) in SIMPLE.items():
        parser = sub.add_parser(verb, aliases=list(aliases), help=text, description=text)
        parser.add_argument("targets", nargs="+", help=TARGETS_HELP)
        parser.add_argument("--only", help="with an ecosystem file: comma-separated app names")
        parser.add_argument("--env", dest="env_profile", help="with an ecosystem file: profile")
        if verb in ("restart", "reload"):
            parser.add_argument(
                "-a",
                "--update-env",
                action="store_true",
                help="give the apps this shell's environment",
            )
        if verb == "restart":
            parser.add_argument(
                "--watch", action="store_true", help="toggle watching (on if off, off if on)"
            )
            parser.add_argument(
                "-c",
                "--cron-restart",
                "--cron",
                dest="cron_restart",
                metavar="PATTERN",
                help="restart on this cron pattern from now on (0 removes it)",
            )
        session.add_json_flag(parser)
        session.add_host_flags(parser)
        parser.set_defaults(module=__name__, action=verb)

    parser = sub.add_parser(
        "signal",
        aliases=["sendSignal"],
        help="send a signal to processes",
        description="Send SIG (name or number) to each target's main process.",
    )
    parser.add_argument("sig", help="SIGUSR2, USR2 or 12")
    parser.add_argument("targets", nargs="+", help="id, name, namespace, all or script path")
    session.add_json_flag(parser)
    parser.set_defaults(module=__name__, action="signal")

    parser = sub.add_parser(
        "scale",
        help="run N instances of an app",
        description="Add or remove instances of NAME: N, +N or -N.",
    )
    parser.add_argument("name", help="app name")
    parser.add_argument("count", help="N, +N or -N")
    session.add_json_flag(parser)
    parser.set_defaults(module=__name__, action="scale")


# ------------------------------------------------------------------ the verbs


def stop(client: Client, args: argparse.Namespace) -> session.Result:
    return _simple(client, "stop", args)


def delete(client: Client, args: argparse.Namespace) -> session.Result:
    return _simple(client, "delete", args)


def reset(client: Client, args: argparse.Namespace) -> session.Result:
    return _simple(client, "reset", args)


def restart(client: Client, args: argparse.Namespace) -> session.Result:
    return _again(client, "restart", args)


def reload(client: Client, args: argparse.Namespace) -> session.Result:
    return _again(client, "reload", args)


def send_signal(client: Client, args: argparse.Namespace) -> session.Result:
    rows = targets.call(client, "signal", args.names, signal=args.sig)
    return session.Result("signal", rows, [session.done(f"signal {args.sig}", rows)])


def scale(client: Client, args: argparse.Namespace) -> session.Result:
    try:
        rows: list[session.Row] = client.call("scale", name=args.name, count=args.count)
    except DaemonError as exc:
        if exc.code != protocol.ErrorCode.UNKNOWN_TARGET:
            raise
        raise targets.unknown(args.name, client.call("list", metrics=False)) from None
    return session.Result("scale", rows, [session.done("scale", rows)])


VERBS: dict[str, Verb] = {
    "stop": stop,
    "restart": restart,
    "reload": reload,
    "delete": delete,
    "reset": reset,
    "signal": send_signal,
    "scale": scale,
}
"""`args.action` (set by the parser of each verb) -> the function that does it."""


def _simple(client: Client, verb: str, args: argparse.Namespace) -> session.Result:
    rows = targets.call(client, verb, args.names)
    if verb != "reset":  # pm2 reset all with nothing there exits 0
        _something_found(rows, args.names)
    return session.Result(verb, rows, [session.done(verb, rows)])


def _something_found(rows: list[session.Row], names: list[str]) -> None:
    """`all` that matches nothing fails (exit 1), as in PM2: a script that stops "all"
    learns that nothing was there."""
    if not rows and "all" in names:
        raise Failure("no process found: the process list is empty")


def _again(client: Client, verb: str, args: argparse.Namespace) -> session.Result:
    """restart/reload: processes by target, and each ecosystem re-read (its apps replaced)."""
    rows: list[session.Row] = []
    if args.names:
        from corral.config.environment import user_environ  # not for stop/delete

        params: dict[str, object] = {"env": user_environ()} if args.update_env else {}
        if verb == "restart" and args.watch:
            params["toggle_watch"] = True  # PM2's `restart --watch`
        if verb == "restart" and args.cron_restart is not None:
            params["cron_restart"] = args.cron_restart  # "0" removes it
        rows = targets.call(client, verb, args.names, **params)
        _something_found(rows, args.names)
    if args.specs:
        rows += client.call("add", specs=args.specs, replace=True)
    return session.Result(verb, rows, [session.done(verb, rows)])


def _prepare(args: argparse.Namespace) -> None:
    """Check usage and read ecosystems before the daemon is asked (or started): bad input
    exits 2 and changes nothing. Sets `args.names` (targets for the daemon) and `args.specs`
    (apps that restart/reload re-read from their file)."""
    if args.action == "scale" and not re.fullmatch(r"[+-]?\d{1,6}", args.count):
        raise UsageError(f"scale: count must be N, +N or -N, not {args.count!r}")
    if args.action == "signal" and not re.fullmatch(r"(SIG)?[A-Za-z0-9+-]+", args.sig):
        raise UsageError(f"not a signal: {args.sig!r}")
    given: list[str] = getattr(args, "targets", [])
    args.specs = []
    if args.action in ("restart", "reload"):
        reread = [t for t in given if targets.is_ecosystem(t)]
        args.specs = [s.to_dict() for path in reread for s in targets.load_apps(path, args)]
        given = [t for t in given if t not in reread]
    args.names = targets.expand(given, args)


@session.guarded
def run(args: argparse.Namespace) -> int:
    _prepare(args)
    verb = VERBS[args.action]
    with session.connect() as client:
        return session.render(verb(client, args), args, client)
