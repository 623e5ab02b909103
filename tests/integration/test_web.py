"""`corral monit --web`: the monitor in a real browser (Debian's chromium, driven by
Playwright), its token, its origin check, and tabs that come and go without growing it.

The terminal is drawn on a canvas, so the tests judge by the daemon: a key pressed in the
browser either stops the app (jlist says so) or, read-only, does not. Keys sent before
the monitor in the tab is up are lost, so `s` is pressed again until a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fleet import CORRAL, cli
from tests.helpers import APPS, Corral, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        CHROMIUM is None, reason="no chromium (Debian's package; .ci/run installs it)"
    ),
]
WAIT_S = 60.0
"""Generous: each tab starts a Python monitor, slow on a loaded two-core machine."""


class Web:
    """A `corral monit --web` server on a free loopback port, over HOME's daemon."""

    def __init__(self, home: Path, *flags: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [CORRAL, "monit", "--web", "--listen", f"127.0.0.1:{self.port}", *flags],
            env={**os.environ, "CORRAL_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        assert "serving the monitor at" in first, first
        self.url = first.split(" at ", 1)[1].strip()

    def rss(self) -> int:
        with open(f"/proc/{self.proc.pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def close(self) -> None:
        os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    try:
        yield tmp_path
    finally:
        cli(tmp_path, "kill")


def start_chatty(home: Path, name: str) -> None:
    chatty = str(APPS / "chatty.py")
    assert (
        cli(home, "start", chatty, "--name", name, "--", "1000000", "--interval", "1").returncode
        == 0
    )


def status(home: Path, name: str) -> str:
    """NAME's status, asked of the daemon on its socket: tests poll this ten times a
    second for a minute, and a `corral jlist` process each time cost 45 CPU-s a test."""
    rows = Corral(home).rows()
    return str(next(r["status"] for r in rows if r["name"] == name))


def subscribed(home: Path) -> bool:
    """Whether a monitor listens to HOME's daemon: a tab's monitor subscribes once it is
    mounted with the table focused, so from then on the keys it is sent reach it."""
    with Corral(home).client() as client:
        return int(client.call("ping")["stats"]["subscribers"]) > 0


async def press_until(
    url: str,
    key: str,
    done: Callable[[], object],
    *,
    home: Path,
    presses: int | None = None,
    shot: Path | None = None,
) -> bool:
    """Open URL in chromium; once the tab's monitor has subscribed to HOME's daemon, press
    KEY once a second until DONE(), PRESSES presses or WAIT_S; DONE's last value."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 800})
            await page.goto(url)
            await page.wait_for_selector("body.-first-byte", timeout=WAIT_S * 1000)
            await page.focus(".xterm-helper-textarea")  # xterm.js reads keys from it
            deadline = time.monotonic() + WAIT_S
            while not subscribed(home):
                assert time.monotonic() < deadline, "the tab's monitor never subscribed"
                await asyncio.sleep(0.1)  # polling the daemon, with a deadline
            if shot is not None:
                await page.wait_for_timeout(2000)  # let the first frame paint (the shot only)
                await page.screenshot(path=str(shot))
            pressed = 0
            while time.monotonic() < deadline and (presses is None or pressed < presses):
                await page.keyboard.press(key)
                pressed += 1
                for _ in range(10):
                    if done():
                        return True
                    await asyncio.sleep(0.1)  # polling the daemon, with a deadline
            return bool(done())
        finally:
            await browser.close()


def test_browser_tab_is_a_monitor_whose_keys_act(home: Path, tmp_path: Path) -> None:
    """The web view opens in chromium; `s` on the selected app stops it (jlist agrees)."""
    start_chatty(home, "alpha")
    web = Web(home)
    try:
        shot = tmp_path / "web.png"
        stopped = asyncio.run(
            press_until(
                web.url, "s", lambda: status(home, "alpha") == "stopped", home=home, shot=shot
            )
        )
        assert stopped, "s in the browser did not stop alpha"
        assert shot.stat().st_size > 10_000, "a screenshot of the drawn monitor"
    finally:
        web.close()


@pytest.mark.slow
def test_read_only_refuses_the_same_key(home: Path) -> None:
    """With --read-only the same key, pressed five times once the tab's monitor listens
    (the test above stops the app with the first presses), leaves the app online."""
    start_chatty(home, "alpha")
    web = Web(home, "--read-only")
    try:
        pid = json.loads(cli(home, "jlist").stdout)[0]["pid"]
        changed = lambda: status(home, "alpha") != "online"  # noqa: E731
        assert not asyncio.run(press_until(web.url, "s", changed, home=home, presses=5))
        rows = json.loads(cli(home, "jlist").stdout)
        assert rows[0]["status"] == "online" and rows[0]["pid"] == pid
    finally:
        web.close()


LIVE = 4
"""How many tabs' monitors the fifty-tab test lets live at once."""


def children(pid: int) -> list[int]:
    """PID's live child processes."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(k) for k in task.read_text().split()]
    return found


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    """(status, headers) of a GET that does not follow redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_token_is_required_everywhere_and_origin_is_checked(home: Path) -> None:
    """--token: no token or a wrong one gets 403 on the page, the websocket and the static
    files; the right one sets a cookie and redirects to a URL without it; a websocket from
    another origin is refused even with the cookie."""
    start_chatty(home, "alpha")
    web = Web(home, "--token", "s3cret-token")
    try:
        base = f"http://127.0.0.1:{web.port}"
        assert web.url == f"{base}/?token=s3cret-token"
        assert fetch(f"{base}/")[0] == 403
        assert fetch(f"{base}/?token=wrong")[0] == 403
        assert fetch(f"{base}/static/js/textual.js")[0] == 403
        assert fetch(f"{base}/ws")[0] == 403
        code, headers = fetch(web.url)
        assert code == 302 and "token" not in headers["Location"]
        cookie = headers["Set-Cookie"].split(";")[0]
        assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
        assert fetch(f"{base}/", {"Cookie": cookie})[0] == 200
        evil = {"Cookie": cookie, "Origin": "http://evil.example"}
        assert fetch(f"{base}/ws", evil)[0] == 403
    finally:
        web.close()
    out = web.proc.stdout.read() if web.proc.stdout else ""
    assert "s3cret-token" not in out.replace(web.url, ""), "the token is printed once, never logged"


ANNOUNCE_PROBE = """
import os, signal, socket, sys
from corral.tui.web import MonitServer

class Probe(MonitServer):
    def _announce(self, *_):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
            print("listening", flush=True)
        except OSError as exc:
            print("refused", exc, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

Probe(["true"], host="127.0.0.1", port=int(sys.argv[1]), token=None).serve()
"""


def test_the_url_is_printed_once_the_port_listens() -> None:
    """Whoever reads the URL may connect at once: it was printed from aiohttp's
    on_startup, before the port was bound, and a test that connected then was refused."""
    out = subprocess.run(
        [sys.executable, "-c", ANNOUNCE_PROBE, str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.startswith("listening"), (out.stdout, out.stderr)


def test_another_address_gets_a_token_without_asking() -> None:
    """Beyond loopback a token is always required (a random one when none is given);
    on loopback only when asked for."""
    from corral.tui.web import token_for

    assert token_for("127.0.0.1", None, required=False) is None
    assert token_for("::1", None, required=False) is None
    drawn = token_for("10.1.2.3", None, required=False)
    assert drawn is not None and len(drawn) >= 40
    assert token_for("0.0.0.0", "mine", required=False) == "mine"
    assert token_for("127.0.0.1", None, required=True) is not None


@pytest.mark.timeout(300)  # 50 monitor processes start (each ended as its tab closes)
def test_fifty_tabs_open_and_close_without_growing_the_server(home: Path) -> None:
    """50 websocket sessions (each starts and ends a monitor process): the server's RSS
    stays within 20 MB of where it was after the first."""
    import aiohttp

    start_chatty(home, "alpha")
    web = Web(home)

    async def cycle(session: aiohttp.ClientSession) -> None:
        # A tab that opens (the server has started its monitor once it answers a ping)
        # and closes at once, before the monitor has drawn: the hardest moment to clean up.
        async with session.ws_connect(f"ws://127.0.0.1:{web.port}/ws?width=80&height=24") as ws:
            await ws.send_json(["ping", "x"])
            message = await asyncio.wait_for(ws.receive(), WAIT_S)
            assert message.type == aiohttp.WSMsgType.TEXT

    async def few_left() -> None:
        # At most LIVE monitors at once: fifty Textual apps starting together put dozens
        # of processes on two cores and starved every test running beside this one.
        deadline = time.monotonic() + 4 * WAIT_S
        while len(children(web.proc.pid)) >= LIVE:
            assert time.monotonic() < deadline, f"monitors left: {children(web.proc.pid)}"
            await asyncio.sleep(0.1)  # polling /proc, with a deadline

    async def run() -> list[int]:
        sizes = []
        async with aiohttp.ClientSession() as session:
            for _ in range(50):
                await few_left()
                await cycle(session)
                sizes.append(web.rss())
        return sizes

    try:
        sizes = asyncio.run(run())
        assert max(sizes) - sizes[0] < 20 * 1024 * 1024, sizes
        # 50 monitors started at once take a while to start and then quit: generous.
        deadline = time.monotonic() + 4 * WAIT_S
        while children(web.proc.pid):  # every tab's monitor ends with its tab
            assert time.monotonic() < deadline, f"monitors left: {children(web.proc.pid)}"
            time.sleep(0.2)  # polling /proc, with a deadline
    finally:
        web.close()
