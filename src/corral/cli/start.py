"""Provides `corral start`: a script with PM2's per-app flags, an ecosystem file, or a process.

Each target is, in PM2's order: an ecosystem file (its apps; `--only`, `--env`); an
existing id, name, namespace or `all` (restarted); else a script or command to run. A
spec is built here, in the CLI, so the app inherits this shell's environment (as PM2),
and sent whole to the daemon. An app whose name already exists is restarted with the new
spec. Every target is validated before anything is sent: bad config changes nothing.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from corral.cli import session, targets
from corral.cli.main import UsageError

VALUE_FLAGS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("-n", "--name"), "name", "process name (default: the script's name)"),
    (("-i", "--instances"), "instances", "number of instances, or max"),
    (("--interpreter",), "interpreter", "program that runs the script (none: exec it)"),
    (("--interpreter-args", "--node-args"), "interpreter_args", "arguments for the interpreter"),
    (("--cwd",), "cwd", "working directory of the app"),
    (("--namespace",), "namespace", "namespace of the app"),
    (("--max-memory-restart",), "max_memory_restart", "restart above this RSS (e.g. 200M)"),
    (("--restart-delay",), "restart_delay", "wait this long before a restart (ms or 1s)"),
    (
        ("--exp-backoff-restart-delay",),
        "exp_backoff_restart_delay",
        "exponential backoff base for restarts",
    ),
    (("--max-restarts",), "max_restarts", "unstable restarts before errored"),
    (("--min-uptime",), "min_uptime", "a run shorter than this is unstable"),
    (("-k", "--kill-timeout"), "kill_timeout", "wait before SIGKILL on stop"),
    (("--kill-signal",), "kill_signal", "signal sent first on stop (default SIGINT)"),
    (("-c", "--cron-restart", "--cron"), "cron_restart", "restart on a cron schedule"),
    (("--log-date-format",), "log_date_format", "timestamp format for log lines"),
    (("--log-type",), "log_type", "raw or json"),
    (("--ignore-watch",), "ignore_watch", "paths not to watch (comma or space separated)"),
    (("--watch-delay",), "watch_delay", "wait this long after a change"),
    (("-o", "--output"), "out_file", "stdout log file"),
    (("-p", "--pid"), "pid_file", "write the pid here (FILE.pid: FILE-<id>.pid), removed at exit"),
    (("-e", "--error"), "error_file", "stderr log file"),
    (("--args",), "args", "arguments for the script, as one string"),
    (("--listen",), "listen", "share this address among the instances (:8000, unix:/path)"),
)
"""Flags taking a value: (spellings, PM2 attribute, help). The config layer coerces units."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "start",
        help="start a script, an ecosystem file's apps, or existing processes",
        description="Start (or restart) apps; after `--` come the script's own arguments.",
    )
    parser.add_argument(
        "targets", nargs="*", help="script, command, ecosystem file, - (stdin), id or name"
    )
    for flags, dest, text in VALUE_FLAGS:
        parser.add_argument(*flags, dest=f"opt_{dest}", metavar="VALUE", help=text)
    parser.add_argument(
        "--watch", nargs="?", const=True, metavar="PATHS", help="restart on file changes"
    )
    parser.add_argument("--stop-exit-codes", nargs="+", metavar="CODE", help="exit codes that stop")
    parser.add_argument("-l", "--log", nargs="?", const=True, metavar="PATH", help="combined log")
    parser.add_argument("--no-autorestart", action="store_true", help="never restart on exit")
    parser.add_argument("--no-autostart", action="store_true", help="register without starting")
    parser.add_argument("--merge-logs", action="store_true", help="one log for all instances")
    parser.add_argument(
        "-f", "--force", action="store_true", help="start another copy even if the name exists"
    )
    parser.add_argument(
        "-x",
        "--execute-command",
        action="store_true",
        help="run in fork mode (a Node script gets no cluster shim)",
    )
    parser.add_argument("--time", action="store_true", help="prefix log lines with the time")
    parser.add_argument(
        "--no-shim", action="store_true", help="cluster mode: let the app bind its port itself"
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="print at once (PM2), not once the processes settle"
    )
    deps = parser.add_mutually_exclusive_group()
    deps.add_argument(
        "--with-deps",
        dest="deps",
        action="store_const",
        const="with",
        help="an existing app: start what it depends on (depends_on) first",
    )
    deps.add_argument(
        "--no-deps",
        dest="deps",
        action="store_const",
        const="ignore",
        help="an existing app: start it now, ignoring its depends_on",
    )
    parser.add_argument("--env", dest="env_profile", help="ecosystem: layer env_<ENV> over env")
    parser.add_argument("--only", help="ecosystem: comma-separated app names")
    session.add_json_flag(parser)
    parser.set_defaults(module=__name__, takes_passthrough=True)


def app_mapping(script: str, args: argparse.Namespace) -> dict[str, Any]:
    """The PM2-named app table that the flags describe (values as typed; coerced later)."""
    raw: dict[str, Any] = {"script": script}
    for _flags, key, _help in VALUE_FLAGS:
        value = getattr(args, f"opt_{key}")
        if value is not None:
            raw[key] = value
    if isinstance(raw.get("ignore_watch"), str):
        raw["ignore_watch"] = [p for p in raw["ignore_watch"].replace(",", " ").split() if p]
    if args.watch is not None:
        paths = args.watch if isinstance(args.watch, str) else ""
        raw["watch"] = [p for p in paths.split(",") if p] or True
    if args.log is not None:
        raw["log_file"] = args.log
    if args.stop_exit_codes:
        raw["stop_exit_codes"] = args.stop_exit_codes
    if args.no_autorestart:
        raw["autorestart"] = False
    if args.no_autostart:
        raw["autostart"] = False
    if args.merge_logs:
        raw["merge_logs"] = True
    if args.time:
        raw["time"] = True
    if getattr(args, "no_shim", False):
        raw["shim"] = False
    if args.execute_command:
        raw["exec_mode"] = "fork"
    if args.passthrough:
        raw["args"] = list(args.passthrough)
    return raw


def script_spec(script: str, args: argparse.Namespace) -> Any:
    """An AppSpec for SCRIPT and the flags; bad flags exit 2 with every problem listed."""
    import sys

    from corral.config import ConfigError, Problem, spec_from_mapping

    warnings: list[Problem] = []
    try:
        spec = spec_from_mapping(app_mapping(script, args), cwd=os.getcwd(), warnings=warnings)
    except ConfigError as exc:
        raise UsageError(f"bad options:\n{exc}") from None
    for warning in warnings:
        print(f"corral: warning: {warning}", file=sys.stderr)
    return spec


def _fix_watch_swallowing_script(args: argparse.Namespace) -> None:
    """`start --watch app.py`: argparse gives app.py to --watch; PM2 users mean the script."""
    if not args.targets and isinstance(args.watch, str) and os.path.exists(args.watch):
        args.targets, args.watch = [args.watch], True


@session.guarded
def run(args: argparse.Namespace) -> int:
    _fix_watch_swallowing_script(args)
    if not args.targets:
        from pathlib import Path

        from corral.config import find_default_config

        found = find_default_config(Path.cwd())
        if found is None:
            raise UsageError("start what? give a script, an ecosystem file or a process")
        args.targets = [str(found)]
    if args.deps and any(targets.is_ecosystem(t) for t in args.targets):
        raise UsageError("--with-deps and --no-deps apply to apps already in the list")
    if args.env_profile and not any(targets.is_ecosystem(t) for t in args.targets):
        raise UsageError("--env selects a profile of an ecosystem file; give one")
    # Everything is validated before a daemon is started: a bad config starts nothing.
    overrides = {"autostart": False} if args.no_autostart else None
    specs: list[Any] = []
    others: list[str] = []
    for target in args.targets:
        if targets.is_ecosystem(target):
            specs += targets.load_apps(target, args, overrides)
        else:
            others.append(target)
    client = _running_daemon() if others else None
    try:
        known = _known_targets(client.call("list")) if client else {"all"}
        existing = [target for target in others if target in known]
        scripts = [target for target in others if target not in known]
        if len(scripts) > 1 and args.opt_name:
            raise UsageError("--name names one script; start several without it")
        specs += [script_spec(script, args) for script in scripts]
    except BaseException:
        if client is not None:
            client.close()
        raise
    with client or session.connect() as client:
        rows: list[session.Row] = []
        if existing and args.deps:
            # Start (not restart) with the dependencies, or regardless of them.
            rows += targets.call(client, "start", existing, deps=args.deps)
        elif existing:
            rows += targets.call(client, "restart", existing)
        if specs:
            # -f: another copy beside the app of that name, as PM2 (else it is replaced).
            rows += _add(client, [spec.to_dict() for spec in specs], replace=not args.force)
        failures: list[str] = []
        if rows and not args.no_wait:
            from corral.cli.settle import settle

            rows, failures = settle(lambda: client.call("list"), rows)
        result = session.Result(
            "start", rows, [session.done("start", rows), *failures], exit_code=1 if failures else 0
        )
        return session.render(result, args, client)


def _running_daemon() -> Any:
    """A client of the daemon if one runs; None (and none started) otherwise."""
    from corral.daemon.client import NotRunning

    try:
        return session.connect(start=False)
    except NotRunning:
        return None


def _known_targets(rows: list[session.Row]) -> set[str]:
    known = {"all"}
    for row in rows:
        known.update((str(row["id"]), str(row["name"]), str(row["namespace"])))
    return known


def _add(client: Any, specs: list[dict[str, Any]], *, replace: bool) -> list[session.Row]:
    """Send SPECS in requests small enough for the daemon's line limit."""
    from corral.daemon import protocol

    size = len(protocol.encode({"specs": specs}))
    if size < protocol.MAX_LINE - 4096 or len(specs) == 1:
        rows: list[session.Row] = client.call("add", specs=specs, replace=replace)
        return rows
    half = len(specs) // 2
    return _add(client, specs[:half], replace=replace) + _add(client, specs[half:], replace=replace)
