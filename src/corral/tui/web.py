"""Provides `serve`: the monitor in a browser, through textual-serve.

The web view is the same app, the same keys and the same code as `corral monit`: for each
browser tab textual-serve starts one `corral monit` process that draws through Textual's
web driver, and ends it when the tab closes. This module only guards the door:

- loopback by default; any other address only when given, and then a token is required
  (`--token` requires one on any address). The token is checked on every request and on
  the websocket, compared in constant time, and never logged: the first page load
  `/?token=…` sets an HttpOnly, SameSite=Strict cookie and redirects to `/`, so the token
  leaves the address bar and the access log is off.
- the websocket is refused when its Origin is another site, so a page the user happens
  to visit cannot drive the monitor on their loopback (cross-site websocket hijacking).

TLS is left to a reverse proxy in front (docs/web.md), where certificates already live.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import secrets
import shlex
import signal
import sys
from typing import Any
from urllib.parse import urlsplit

import textual_serve.server
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from corral.config.listen import parse_local_server

COOKIE = "corral_token"
DEFAULT_LISTEN = "127.0.0.1:8420"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_for(host: str, given: str | None, *, required: bool) -> str | None:
    """The token a server on HOST checks: GIVEN, else a random one (32 bytes) when one is
    REQUIRED or HOST is not loopback; None (no check) only on loopback, unasked."""
    if given is None and (required or not is_loopback(host)):
        return secrets.token_urlsafe(32)
    return given


class TabMonitor(AppService):
    """One tab's monitor process, ended at once when its tab closes.

    textual-serve asks the app to quit through its stdin, which a monitor reads only once
    it has started: a tab closed while its monitor was still importing Textual cost that
    whole start (most of a second of CPU) for nothing. A monitor is a viewer with nothing
    to save, so it gets SIGTERM as well; the quit message still goes for one that started.
    """

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        await super().stop()


class MonitServer(Server):
    """textual-serve's server with a token check, an Origin check and no access log."""

    def __init__(
        self,
        command: list[str],
        *,
        host: str,
        port: int,
        token: str | None,
        public_url: str | None = None,
    ) -> None:
        # `exec`: the shell textual-serve starts becomes the monitor, so a signal reaches it.
        super().__init__("exec " + shlex.join(command), host=host, port=port, title="corral monit")
        if public_url is not None:
            self.public_url = public_url.rstrip("/")
        elif ":" in host:
            self.public_url = f"http://[{host}]:{port}"
        self.token = token

    def initialize_logging(self) -> None:
        # Warnings only, and no access log: a request line may carry the token.
        logging.basicConfig(level=logging.WARNING, format="corral web: %(message)s")
        logging.getLogger("aiohttp.access").disabled = True

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        return app

    async def on_startup(self, app: web.Application) -> None:
        # textual-serve prints its banner here, before the port is bound: say nothing yet.
        pass

    def _announce(self, *_: object) -> None:
        url = f"{self.public_url}/" + (f"?token={self.token}" if self.token else "")
        print(f"[corral] serving the monitor at {url}", flush=True)
        print("[corral] each browser tab is its own monitor; Ctrl-C stops serving", flush=True)

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT or SIGTERM. Unlike textual-serve's own `serve`, the URL is
        printed only once the port listens (aiohttp's print hook runs after the sites
        start; `on_startup` runs before them), so whoever reads it can connect at once."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_exit)
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            handle_signals=False,
            loop=loop,
            print=self._announce,
        )

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/ws" and not _same_origin(request):
            raise web.HTTPForbidden(text="corral: websocket from another origin refused\n")
        if self.token is None:
            response: web.StreamResponse = await handler(request)
            return response
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise web.HTTPForbidden(text="corral: this monitor needs its token (?token=…)\n")
        if "token" in request.query and request.path == "/":
            query = {k: v for k, v in request.query.items() if k != "token"}
            found = web.HTTPFound(request.rel_url.with_query(query))
            secure = self.public_url.startswith("https:")
            found.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict", secure=secure)
            raise found
        response = await handler(request)
        return response


def _same_origin(request: web.Request) -> bool:
    """No Origin (not a browser), or an Origin whose host:port is this request's Host."""
    origin = request.headers.get("Origin")
    if not origin:
        return True
    return urlsplit(origin).netloc == request.host


def serve(
    monit_args: list[str],
    *,
    listen: str,
    token: str | None,
    require_token: bool,
    public_url: str | None,
) -> int:
    """Serve `corral monit MONIT_ARGS` per browser tab until interrupted; the exit code."""
    host, port = parse_local_server(listen)
    token = token_for(host, token, required=require_token)
    command = [sys.executable, "-m", "corral", "monit", *monit_args]
    # textual-serve makes each tab's AppService itself; this process only ever serves this.
    textual_serve.server.AppService = TabMonitor  # type: ignore[attr-defined]
    MonitServer(command, host=host, port=port, token=token, public_url=public_url).serve()
    return 0
