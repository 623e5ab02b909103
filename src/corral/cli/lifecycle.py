"""Provides the verbs that act on existing processes: stop, restart, reload, delete, reset,
signal and scale.

Targets are ids, names, namespaces, `all`, or ecosystem files (their apps); several may be
given, and every one must exist before anything is done (exit 1 naming the unknown one).
`restart`/`reload` of an ecosystem file re-read it: running apps restart with the new
config, missing ones start (PM2's behaviour).
"""

from __future__ import annotations

import argparse
import re

from corral.cli import session
from corral.cli.main import UsageError

SIMPLE = {
    "stop": ("stop processes (they stay in the list)", ()),
    "restart": ("restart processes (env frozen unless --update-env)", ()),
    "reload": ("zero-downtime rolling reload (a restart without shared sockets)", ()),
    "delete": ("stop processes and remove them from the list", ("del",)),
    "reset": ("zero the restart counters", ()),
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for verb, (text, aliases) in SIMPLE.items():
        parser = sub.add_parser(verb, aliases=list(aliases), help=text, description=text)
        parser.add_argument("targets", nargs="+", help="id, name, namespace, all, or a file")
        parser.add_argument("--only", help="with an ecosystem file: comma-separated app names")
        parser.add_argument("--env", dest="env_profile", help="with an ecosystem file: profile")
        if verb in ("restart", "reload"):
            parser.add_argument(
                "-a",
                "--update-env",
                action="store_true",
                help="give the apps this shell's environment",
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
    parser.add_argument("targets", nargs="+", help="id, name, namespace or all")
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


@session.guarded
def run(args: argparse.Namespace) -> int:
    action: str = args.action
    if action == "scale" and not re.fullmatch(r"[+-]?\d{1,6}", args.count):
        raise UsageError(f"scale: count must be N, +N or -N, not {args.count!r}")
    if action == "signal" and not re.fullmatch(r"(SIG)?[A-Za-z0-9+-]+", args.sig):
        raise UsageError(f"not a signal: {args.sig!r}")
    given: list[str] = getattr(args, "targets", [])
    reread = []
    if action in ("restart", "reload"):
        reread = [t for t in given if session.is_ecosystem(t)]
    targets = session.expand_targets([t for t in given if t not in reread], args)
    specs = [spec.to_dict() for path in reread for spec in session.load_apps(path, args)]
    with session.connect() as client:
        rows: list[session.Row] = []
        if action == "scale":
            rows = client.call("scale", name=args.name, count=args.count)
        elif action == "signal":
            rows = client.call("signal", signal=args.sig, targets=targets)
        elif action == "restart" or action == "reload":
            if targets:
                from corral.config.environment import user_environ

                env = user_environ() if args.update_env else None
                params = {"env": env} if env is not None else {}
                rows = client.call(action, targets=targets, **params)
            if specs:
                rows += client.call("add", specs=specs, replace=True)
        else:
            rows = client.call(action, targets=targets)
        verb = f"signal {args.sig}" if action == "signal" else action
        result = session.Result(action, rows, [session.done(verb, rows)])
        return session.render(result, args, client)
