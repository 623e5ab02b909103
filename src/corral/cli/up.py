"""Provides `corral up [FILE]`: the engine in the foreground, without a daemon.

With `--no-ui` it is PM2-runtime's role (containers, systemd units): the merged log of
every app on stdout, SIGINT/SIGTERM stop everything gracefully and exit 0, a second
SIGINT kills at once. It exits by itself once no app is running or about to restart
(1 if any app errored), unless `--no-auto-exit`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from corral.cli.main import UsageError

if TYPE_CHECKING:
    from corral.config.spec import AppSpec
    from corral.engine.events import Event


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
    if not eco.apps:
        raise UsageError(f"{path}: no apps to run")
    if not args.no_ui:
        if not sys.stdout.isatty():
            raise UsageError("the terminal UI needs a terminal: use --no-ui for pipes")
        from corral.tui.run import run_up  # Textual loads only here, never for --no-ui

        return run_up(eco, theme=args.theme)
    return asyncio.run(_foreground(eco.apps, json_lines=args.json, auto_exit=not args.no_auto_exit))


async def _foreground(apps: Sequence[AppSpec], *, json_lines: bool, auto_exit: bool) -> int:
    from corral.cli.printer import EventPrinter
    from corral.engine import ProcessState, StateChanged, Supervisor

    loop = asyncio.get_running_loop()
    printer = EventPrinter(sys.stdout, json_lines=json_lines)
    done = asyncio.Event()
    interrupts = 0
    idle_states = {ProcessState.STOPPED, ProcessState.ERRORED}
    supervisor = Supervisor()
    started = False

    def on_event(event: Event) -> None:
        try:
            printer(event)
        except BrokenPipeError:
            # The reader left (`| head`): keep supervising, print nowhere from now on.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise
        _schedule_flush()
        if (
            auto_exit
            and started
            and isinstance(event, StateChanged)
            and all(p.state in idle_states for p in supervisor.processes())
        ):
            done.set()

    flush_pending = False

    def _schedule_flush() -> None:
        nonlocal flush_pending
        if not flush_pending:
            flush_pending = True
            loop.call_soon(_flush)

    def _flush() -> None:
        nonlocal flush_pending
        flush_pending = False
        with contextlib.suppress(OSError, ValueError):  # a reader that left is not fatal
            sys.stdout.flush()

    def on_signal(signum: int) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            print(
                f"[corral] {signal.Signals(signum).name}: stopping every app "
                "(Ctrl-C again to kill at once)",
                file=sys.stderr,
                flush=True,
            )
            done.set()
        elif signum == signal.SIGINT:
            # The graceful stop is still under way; killing every tree lets it end now.
            supervisor.kill_now()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    supervisor.add_sink(on_event)
    async with supervisor:
        await supervisor.add(apps)
        started = True
        if auto_exit and all(p.state in idle_states for p in supervisor.processes()):
            done.set()
        await done.wait()
        errored = any(p.state is ProcessState.ERRORED for p in supervisor.processes())
        # Leaving the block closes the supervisor: every app stops, errored ones stay so.
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    if interrupts > 1:
        return 130
    return 1 if errored and interrupts == 0 else 0
