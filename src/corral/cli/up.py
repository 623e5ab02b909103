"""Provides `corral up [FILE]`: the engine in the foreground, without a daemon.

With `--no-ui` it is PM2-runtime's role (containers, systemd units): the merged log of
every app on stdout, SIGINT/SIGTERM/SIGHUP stop everything gracefully and exit 0, a
second SIGINT kills at once. It exits by itself once no app is running or about to restart
(1 if any app errored), unless `--no-auto-exit`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from corral.cli.main import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "up",
        help="supervise an ecosystem file in the foreground",
        description="Run the apps of FILE in the foreground (no daemon).",
    )
    parser.add_argument("file", nargs="?", help="ecosystem file (default: corral.toml, …)")
    parser.add_argument("--no-ui", action="store_true", help="print merged logs, no TUI")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--theme", help="the TUI's Textual theme (e.g. textual-light)")
    parser.add_argument("--env", dest="env_profile", help="layer env_<ENV> over env")
    parser.add_argument("--only", help="comma-separated app names to run")
    parser.add_argument(
        "--no-auto-exit", action="store_true", help="keep running when every app has ended"
    )
    parser.set_defaults(module=__name__)


def run(args: argparse.Namespace) -> int:
    from corral.config import ConfigError, find_default_config, load_ecosystem

    if args.theme and not args.no_ui:
        from corral.tui.run import theme_problem  # only with --theme: it loads Textual

        problem = theme_problem(args.theme)
        if problem:
            raise UsageError(problem)
    path = Path(args.file) if args.file else find_default_config(Path.cwd())
    if path is None:
        raise UsageError("no ecosystem file given and none found here (corral.toml, …)")
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    only = [n for n in args.only.split(",") if n] if args.only else None
    try:
        eco = load_ecosystem(path, env_profile=args.env_profile, only=only)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    for warning in eco.warnings:
        print(f"corral: warning: {warning}", file=sys.stderr)
    if not eco.apps:
        raise UsageError(f"{path}: no apps to run")
    if not args.no_ui:
        if not sys.stdout.isatty():
            raise UsageError("the terminal UI needs a terminal: use --no-ui for pipes")
        from corral.tui.run import run_up  # Textual loads only here, never for --no-ui

        return run_up(eco, theme=args.theme)
    from corral.cli.foreground import Foreground  # the engine loads only for this verb
    from corral.engine.api import StartError

    job = Foreground(json_lines=args.json, auto_exit=not args.no_auto_exit)
    try:
        return asyncio.run(job.run(eco.apps))
    except StartError as exc:  # nothing was started: one line, no traceback
        print(f"corral: could not start: {exc}", file=sys.stderr)
        return 1
