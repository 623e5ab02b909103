"""Provides the persistence verbs: save (dump), resurrect, cleardump, startup and unstartup.

`save` and `cleardump` ask the daemon, which is the only writer of dump.json (it also
autosaves, and two writers could interleave their backups). `resurrect` reads the dump here,
warns about a fallback to the backup, and sends the daemon the entries whose names are not
running. `startup` writes a boot service that runs `corral resurrect` as the user.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from corral.cli import session
from corral.cli.main import Failure, UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "save", aliases=["dump"], help="save the process list for resurrect (dump.json)"
    )
    parser.add_argument("--force", action="store_true", help="save even an empty list")
    session.add_json_flag(parser)
    parser.set_defaults(module=__name__, action="save")

    parser = sub.add_parser("resurrect", help="start the saved apps that are not running")
    session.add_json_flag(parser)
    parser.set_defaults(module=__name__, action="resurrect")

    parser = sub.add_parser("cleardump", help="save an empty process list")
    parser.set_defaults(module=__name__, action="cleardump")

    for verb, text in (
        ("startup", "install a boot service that runs `corral resurrect`"),
        ("unstartup", "remove the boot service"),
    ):
        parser = sub.add_parser(verb, help=text, description=text)
        parser.add_argument(
            "platform", nargs="?", help="systemd, launchd, openrc or systemv (default: detected)"
        )
        parser.add_argument("-u", "--user", help="whose apps (default: you)")
        parser.add_argument("--hp", metavar="HOME", help="that user's home folder")
        parser.add_argument("--service-name", help="default corral-USER (launchd: corral.USER)")
        parser.add_argument(
            "--print", action="store_true", help="show the file and commands; change nothing"
        )
        parser.add_argument(
            "--root", metavar="DIR", help="install under DIR and run no command (tests)"
        )
        if verb == "startup":
            parser.add_argument(
                "--wait-ip", action="store_true", help="systemd: wait for network-online.target"
            )
        parser.set_defaults(module=__name__, action=verb)


def save(args: argparse.Namespace) -> int:
    with session.connect() as client:
        answer = client.call("save", force=bool(args.force))
    note = f"saved {answer['saved']} processes to {answer['path']}"
    return session.render(session.Result("save", [], [note], table=False, data=answer), args)


def cleardump(args: argparse.Namespace) -> int:
    with session.connect() as client:
        answer = client.call("cleardump")
    note = f"{answer['path']} now holds an empty list (the previous one: .bak)"
    return session.render(session.Result("cleardump", [], [note], table=False), args)


def resurrect(args: argparse.Namespace) -> int:
    return _resurrect(args)


def _resurrect(args: argparse.Namespace) -> int:
    from corral.persist import dump

    try:
        loaded = dump.load(session.where().root)
    except dump.DumpError as exc:
        raise Failure(str(exc)) from None
    for warning in loaded.warnings:
        print(f"corral: warning: {warning}", file=sys.stderr)
    if loaded.broken is not None:
        try:
            aside = dump.set_aside(loaded.broken)
        except OSError as exc:
            print(f"corral: warning: cannot move {loaded.broken} aside: {exc}", file=sys.stderr)
        else:
            print(f"corral: the unreadable file is kept as {aside}", file=sys.stderr)
    with session.connect() as client:
        running = {str(r["name"]) for r in client.call("list", metrics=False)}
        todo = [e.to_dict() for e in loaded.entries if e.name not in running]
        skipped = sorted({e.name for e in loaded.entries if e.name in running})
        rows = _restore(client, todo) if todo else []
        notes = [f"resurrect: {len(rows)} processes restored from {loaded.path}"]
        if skipped:
            notes.append("already running, left as they are: " + ", ".join(skipped))
        if not loaded.entries:
            notes = [f"resurrect: {loaded.path} holds no process"]
        return session.render(session.Result("resurrect", rows, notes), args, client)


def _restore(client: Any, entries: list[dict[str, Any]]) -> list[session.Row]:
    """Send ENTRIES in requests small enough for the daemon's line limit."""
    from corral.daemon import protocol

    if len(entries) == 1 or len(protocol.encode({"entries": entries})) < protocol.MAX_LINE - 4096:
        rows: list[session.Row] = client.call("restore", entries=entries)
        return rows
    half = len(entries) // 2
    return _restore(client, entries[:half]) + _restore(client, entries[half:])


# ----------------------------------------------------------------- startup


def _boot(args: argparse.Namespace) -> int:
    from corral.persist import startup

    try:
        platform = startup.platform_named(args.platform)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    target = _target(args, platform)
    plan = startup.plan(target)
    installing = args.action == "startup"
    commands = plan.enable if installing else [*plan.disable, *plan.after_remove]
    if args.print:
        if installing:
            print(f"# {plan.dest}\n{plan.text}", end="" if plan.text.endswith("\n") else "\n")
        else:
            print(f"rm {shlex.quote(plan.dest)}")
        for argv in commands:
            print(shlex.join(argv))
        return 0
    if plan.needs_root and not args.root and os.geteuid() != 0:
        print(f"[corral] to {args.action} the boot service, run this as root:")
        print(_sudo_line(args, target))
        return 1
    if installing:
        changed = startup.install(plan, args.root)
        where = startup.rooted(args.root, plan.dest)
        print(f"[corral] {'wrote' if changed else 'unchanged:'} {where}")
        _run_all(commands, args.root)
        print(
            f"[corral] at boot, `corral resurrect` brings back {target.user}'s saved apps "
            f"({os.path.join(target.corral_home, 'dump.json')}; `corral save` updates it)"
        )
        return 0
    _run_all(plan.disable, args.root, check=False)
    removed = startup.uninstall(plan, args.root)
    where = startup.rooted(args.root, plan.dest)
    print(f"[corral] {'removed' if removed else 'nothing to remove at'} {where}")
    _run_all(plan.after_remove, args.root, check=False)
    return 0


def _target(args: argparse.Namespace, platform: str) -> Any:
    from corral.persist import startup

    user = args.user or _me()
    user_home = args.hp or _home_of(user)
    explicit = os.environ.get("CORRAL_HOME")
    # An explicit CORRAL_HOME wins (the sudo line passes it on); else the user's default.
    corral_home = os.path.abspath(explicit) if explicit else os.path.join(user_home, ".corral")
    return startup.Target(
        platform=platform,
        user=user,
        user_home=os.path.abspath(user_home),
        corral_home=corral_home,
        service=args.service_name or startup.default_service(platform, user),
        command=startup.corral_command(),
        path=startup.service_path(os.environ.get("PATH")),
        wait_ip=bool(getattr(args, "wait_ip", False)),
    )


def _me() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return os.environ.get("USER") or str(os.getuid())


def _home_of(user: str) -> str:
    try:
        return pwd.getpwnam(user).pw_dir
    except KeyError:
        raise UsageError(f"no such user {user!r}; give its home with --hp") from None


def _sudo_line(args: argparse.Namespace, target: Any) -> str:
    """PM2's advice line: the same command, as root, with the user spelled out."""
    argv = ["sudo", "env", f"PATH={target.path}"]
    if os.environ.get("CORRAL_HOME"):
        argv.append(f"CORRAL_HOME={target.corral_home}")
    argv += [*target.command, args.action, target.platform, "-u", target.user]
    argv += ["--hp", target.user_home, "--service-name", target.service]
    if getattr(args, "wait_ip", False):
        argv.append("--wait-ip")
    return shlex.join(argv)


def _run_all(commands: list[list[str]], root: str | None, *, check: bool = True) -> None:
    """Run COMMANDS in order (none under --root); the first failure stops an install."""
    if root:
        if commands:
            shown = "; ".join(shlex.join(c) for c in commands)
            print(f"[corral] --root: not running {shown}")
        return
    for argv in commands:
        print(f"[corral] $ {shlex.join(argv)}")
        try:
            done = subprocess.run(argv, check=False)
        except OSError as exc:
            if check:
                raise Failure(f"cannot run {argv[0]}: {exc}") from None
            continue
        if done.returncode != 0 and check:
            raise Failure(f"`{shlex.join(argv)}` failed (exit {done.returncode})")


VERBS: dict[str, Callable[[argparse.Namespace], int]] = {
    "save": session.guarded(save),
    "cleardump": session.guarded(cleardump),
    "resurrect": session.guarded(resurrect),
    "startup": _boot,
    "unstartup": _boot,
}
"""`args.action` (set by each verb's parser) -> the function that does it (startup and
unstartup work on files and service managers, not on the daemon)."""


def run(args: argparse.Namespace) -> int:
    return VERBS[args.action](args)
