"""Provides `run_up` and `run_monit`: the TUI on the in-process engine, or on the daemon.

`corral up FILE`: the engine runs in this process, on the same event loop as the UI;
quitting stops every app gracefully (after the UI has gone, if Ctrl-C was pressed
twice), and a Ctrl-C during that stop kills them at once. `corral monit`: the same app on
the daemon's client; quitting leaves the apps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable

from corral.config.load import Ecosystem
from corral.engine.api import SupervisorAPI
from corral.tui.app import CorralApp, make_app
from corral.tui.base import Source

EVENT_WINDOW_MS = 100
"""`monit` takes the daemon's events in 100 ms batches: the tail redraws at 4 Hz anyway,
and each message wakes the UI's loop (at the default 20 ms, 50 times a second)."""


def theme_problem(theme: str | None) -> str | None:
    """Why THEME cannot be used (a message for the user), or None when it can."""
    from textual.theme import BUILTIN_THEMES

    if theme is None or theme in BUILTIN_THEMES:
        return None
    names = ", ".join(sorted(BUILTIN_THEMES))
    return f"--theme {theme!r}: no such theme (one of: {names})"


def run_up(eco: Ecosystem, *, theme: str | None = None) -> int:
    """Supervise ECO's apps and show them until the user quits; the apps stop with it."""
    problem = theme_problem(theme)
    if problem:
        print(f"corral: {problem}", file=sys.stderr)
        return 2
    return asyncio.run(_up(eco, theme))


async def _up(eco: Ecosystem, theme: str | None) -> int:
    from corral.engine.supervisor import Supervisor
    from corral.engine.tree import end_descendants

    supervisor = Supervisor()
    async with supervisor:  # closing stops every app that is still running
        app = make_app(supervisor, source="up", home=supervisor.home, theme=theme)
        adding = asyncio.create_task(supervisor.add(eco.apps))
        loop = asyncio.get_running_loop()
        # The terminal closed (SIGHUP) or systemd/kill asked (SIGTERM): quit the UI, then
        # stop the apps as a quit does; dying of it would orphan them, ports held.
        for signum in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, app.exit)
        adding.add_done_callback(lambda task: _report_start(app, task))
        try:
            await app.run_async()
        finally:
            left = sum(1 for p in supervisor.processes() if p.pid is not None)
            if left:
                with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
                    print(f"corral: stopping {left} apps (Ctrl-C to kill now)", file=sys.stderr)
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGINT, supervisor.kill_now)
            with contextlib.suppress(Exception):
                await adding
    await end_descendants()  # nothing that escaped an app's tree outlives `up`
    if not adding.cancelled() and adding.exception() is not None:
        print(f"corral: {adding.exception()}", file=sys.stderr)
        return 1
    return app.return_code or 0


def _report_start(app: CorralApp, task: asyncio.Task[object]) -> None:
    """Say on screen why the apps did not start (a port in use), not only after quitting."""
    if task.cancelled() or task.exception() is None:
        return
    app.report_error(f"could not start: {task.exception()}")


def run_monit(
    api: SupervisorAPI,
    home: str,
    *,
    theme: str | None = None,
    read_only: bool = False,
    cleanup: Callable[[], Awaitable[None]] | None = None,
    fleet: bool = False,
) -> int:
    """Show the apps of the daemon (or the fleet) that API reaches, whose home is HOME ("":
    no local log files), until the user quits; the apps keep running. The caller
    connects (the TUI knows the daemon only as a SupervisorAPI); CLEANUP, if given, runs
    on the UI's loop as it ends (the fleet closes its connections)."""
    problem = theme_problem(theme)
    if problem:
        print(f"corral: {problem}", file=sys.stderr)
        return 2
    source: Source = "fleet" if fleet else "monit"
    app = make_app(api, source=source, home=home, theme=theme, read_only=read_only)
    return asyncio.run(_run(app, cleanup))


async def _run(app: CorralApp, cleanup: Callable[[], Awaitable[None]] | None = None) -> int:
    try:
        await app.run_async()
    finally:
        if cleanup is not None:
            await cleanup()
    return app.return_code or 0
