"""Provides `corral monit`: watch every app of the daemon live, in the terminal UI or as text.

`corral monit` attaches the Textual app to the daemon (starting the daemon if needed).
`corral monit --no-ui` is for pipes, logs and dumb terminals: the merged, timestamped
logs of every app, each state change, and one metrics line per process every
`--interval` seconds. Ctrl-C leaves; the apps keep running in the daemon either way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable

from corral.cli.main import Failure, UsageError
from corral.cli.printer import EventPrinter, stamp
from corral.engine.api import SupervisorAPI
from corral.engine.events import Event, MetricsSample, ProcessInfo, Removed, StateChanged
from corral.figures import size_text
from corral.home import Home


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "monit",
        help="watch every app live: table, CPU/memory, merged logs (terminal UI)",
        description="Attach to the daemon and show every app live; quitting leaves them running.",
    )
    parser.add_argument(
        "--no-ui", action="store_true", help="print logs, state changes and metrics as text"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between two metrics lines per app with --no-ui (default 5)",
    )
    parser.add_argument("--theme", help="a Textual theme name (e.g. textual-light)")
    parser.add_argument(
        "hosts",
        nargs="*",
        metavar="HOST",
        help="watch these hosts' daemons through ssh instead of this machine's "
        "([user@]host[:port] or an ssh alias)",
    )
    parser.add_argument(
        "--hosts", dest="hosts_file", metavar="FILE", help="watch every host listed in FILE"
    )
    parser.add_argument(
        "--read-only", action="store_true", help="a monitor whose keys change nothing"
    )
    web = parser.add_argument_group("in a browser (docs/web.md)")
    web.add_argument("--web", action="store_true", help="serve the monitor over HTTP")
    web.add_argument(
        "--listen",
        default="127.0.0.1:8420",
        metavar="[HOST]:PORT",
        help="address to serve on (default 127.0.0.1:8420; another address needs a token)",
    )
    web.add_argument(
        "--token",
        nargs="?",
        const="",
        metavar="TOKEN",
        help="require a token on any address (a random one unless given)",
    )
    web.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, behind a reverse proxy (https://ops.example.com/monit)",
    )
    parser.set_defaults(module=__name__)


def run(args: argparse.Namespace) -> int:
    from corral.daemon.launch import LaunchError, connect_or_start
    from corral.home import home

    if args.interval <= 0:
        raise UsageError("--interval must be a positive number of seconds")
    if args.theme and not args.no_ui:
        from corral.tui.run import theme_problem  # only with --theme: it loads Textual

        problem = theme_problem(args.theme)
        if problem:
            raise UsageError(problem)
    where = home()
    from corral.cli.fleet import hosts_of

    hosts = hosts_of(args)
    if args.web:
        return _web(args, hosts, where)
    # Under textual-serve (a browser tab of `monit --web`) Textual's web driver draws.
    web_tab = os.environ.get("TEXTUAL_DRIVER", "").endswith(":WebDriver")
    if not args.no_ui and not web_tab and not (sys.stdout.isatty() and sys.stdin.isatty()):
        raise UsageError("the terminal UI needs a terminal: use --no-ui for pipes")
    if hosts:
        return _fleet(hosts, args)
    try:
        client = connect_or_start(where)
    except LaunchError as exc:
        raise Failure(str(exc)) from None
    with client:
        empty = args.no_ui and not client.call("list", metrics=False)
    if empty:  # say why nothing shows, then wait for the first app
        print("[corral] no process yet; waiting for apps (Ctrl-C to stop)", file=sys.stderr)
        sys.stderr.flush()
    if args.no_ui:
        try:
            return asyncio.run(_text(where, args.interval))
        except KeyboardInterrupt:
            return 0
    from corral.daemon.aclient import AsyncClient
    from corral.tui.run import EVENT_WINDOW_MS, run_monit  # Textual loads only here

    api = AsyncClient(where, window_ms=EVENT_WINDOW_MS)
    return run_monit(api, where.root, theme=args.theme, read_only=args.read_only)


def _web(args: argparse.Namespace, hosts: list[str], where: Home) -> int:
    """`monit --web`: one monitor process per browser tab, served by textual-serve."""
    from corral.config.listen import parse_local_server

    if args.no_ui:
        raise UsageError("--web serves the terminal UI; it does not go with --no-ui")
    try:
        parse_local_server(args.listen)
    except ValueError as exc:
        raise UsageError(f"--listen {exc}") from None
    if not hosts:
        from corral.daemon.launch import LaunchError, connect_or_start

        try:
            connect_or_start(where).close()  # once, rather than racing in every tab
        except LaunchError as exc:
            raise Failure(str(exc)) from None
    tab = [*hosts]
    tab += ["--read-only"] if args.read_only else []
    tab += ["--theme", args.theme] if args.theme else []
    from corral.tui.web import serve  # aiohttp and textual-serve load only here

    return serve(
        tab,
        listen=args.listen,
        token=args.token or None,
        require_token=args.token is not None,
        public_url=args.public_url,
    )


def _fleet(hosts: list[str], args: argparse.Namespace) -> int:
    """Watch HOSTS' daemons through ssh: one table, one tail, names as `HOST/NAME`."""
    from corral.daemon.fleet import FleetAPI

    if args.no_ui:
        api = FleetAPI(hosts)
        try:
            return asyncio.run(_text(api, args.interval, api.aclose))
        except KeyboardInterrupt:
            return 0
        finally:
            api.close()
    from corral.tui.run import EVENT_WINDOW_MS, run_monit  # Textual loads only here

    api = FleetAPI(hosts, window_ms=EVENT_WINDOW_MS)
    try:  # no local log files to read
        return run_monit(
            api, "", theme=args.theme, read_only=args.read_only, cleanup=api.aclose, fleet=True
        )
    finally:
        api.close()


async def _text(
    where: Home | SupervisorAPI,
    interval: float,
    cleanup: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Print the daemon's events as text until interrupted or the daemon goes away."""
    from corral.daemon.aclient import AsyncClient
    from corral.daemon.client import NotRunning

    api = AsyncClient(where) if isinstance(where, Home) else where
    printer = EventPrinter(sys.stdout)
    watch = TextWatch(printer)
    ticker = asyncio.create_task(watch.tick_every(interval))
    try:
        async for event in api.events():
            watch(event)
            sys.stdout.flush()
    except NotRunning as exc:
        print(f"corral: {exc}", file=sys.stderr)
        return 1
    finally:
        ticker.cancel()
        if cleanup is not None:
            await cleanup()
    return 0


class TextWatch:
    """Events as `monit --no-ui` prints them: logs as `up --no-ui` does, states, metrics."""

    def __init__(self, printer: EventPrinter) -> None:
        self.printer = printer
        self.infos: dict[int, ProcessInfo] = {}
        self.samples: dict[int, MetricsSample] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, StateChanged):
            before = self.infos.get(event.info.id)
            self.infos[event.info.id] = event.info
            if before is None or before.status != event.info.status:
                self._say(event.ts, event.info, f"is {event.info.status.value}")
        elif isinstance(event, MetricsSample):
            self.samples[event.id] = event
        elif isinstance(event, Removed):
            self.infos.pop(event.id, None)
            self.samples.pop(event.id, None)
        else:
            self.printer(event)

    def metrics_lines(self, now: float) -> list[str]:
        """One line per process: status, CPU, memory, restarts."""
        lines = []
        for info in sorted(self.infos.values(), key=lambda i: (i.name, i.id)):
            sample = self.samples.get(info.id)
            running = info.pid is not None
            cpu = f"{sample.cpu:.1f}%" if running and sample and sample.cpu is not None else "-"
            memory = size_text(sample.memory) if running and sample else "-"
            lines.append(
                f"{stamp(now)} [metrics] {info.name}[{info.id}] {info.status.value} "
                f"cpu {cpu} mem {memory} restarts {info.restarts}"
            )
        return lines

    async def tick_every(self, interval: float) -> None:
        """Print the metrics lines every INTERVAL seconds (until cancelled)."""
        while True:
            await asyncio.sleep(interval)
            lines = self.metrics_lines(time.time())
            if lines:
                self.printer.out.write("\n".join(lines) + "\n")
                self.printer.out.flush()

    def _say(self, ts: float, info: ProcessInfo, what: str) -> None:
        pid = f" (pid {info.pid})" if info.pid else ""
        self.printer.out.write(f"{stamp(ts)} [state] {info.name}[{info.id}] {what}{pid}\n")
