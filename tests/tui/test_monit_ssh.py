"""`corral monit` over a real ssh session: tmux runs `ssh -tt` to the test sshd on 127.0.0.1.

"The remote" is this machine, so the monit at the far end reaches the test's daemon
through the same CORRAL_HOME. The ssh session's environment is sshd's minimal one (empty
HOME, no LANG: the POSIX locale, where Python's UTF-8 coercion keeps the box drawing
right), so the remote command names what monit needs. The screen is read with `tmux
capture-pane`, keys go in with `send-keys`, and the daemon's own table is the judge.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.helpers import APPS, Corral, free_port, tmux
from tests.sshd import SshKit

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

CHATTY = str(APPS / "chatty.py")
SIZE = (100, 30)
WAIT_S = 30.0
"""Generous: a loaded two-core machine starts Python, ssh and Textual slowly."""
POLL_S = 0.1


class Monit:
    """`corral monit` in a detached tmux session of its own, through ssh.

    The pane runs `sh -c 'ssh …; echo $? > ended'`: tmux's own `#{pane_dead_status}`
    can stay empty for good, as tmux may miss the SIGCHLD of a pane that exits while
    libutempter's handler is in (tmux/tmux#311), and here the pty's EOF (which makes
    tmux remove the utmp record) comes just before ssh exits.
    """

    def __init__(self, folder: Path, kit: SshKit, root: str, *env: str) -> None:
        self.socket = str(folder / "tmux.sock")
        self.status = folder / "ended"
        self.kit = kit
        conf = folder / "tmux.conf"  # also keeps the user's ~/.tmux.conf out
        conf.write_text("set -g remain-on-exit on\n")  # a failing test still sees the screen
        monit = [sys.executable, "-m", "corral", "monit"]  # the test's Python, at the far end
        remote = shlex.join(["env", f"CORRAL_HOME={root}", "TERM=xterm-256color", *env, *monit])
        options = [word for option in kit.ssh_options for word in ("-o", option)]
        server = kit.server("a")
        ssh = ["ssh", "-F", "/dev/null", "-tt", "-p", str(server.port), "-i", str(kit.user_key)]
        ssh += [*options, f"{kit.user}@127.0.0.1", remote]
        record = 'f=$1; shift; "$@"; echo $? > "$f.new" && mv "$f.new" "$f"'
        width, height = SIZE
        size = ["-x", str(width), "-y", str(height)]
        pane = ["sh", "-c", record, "sh", str(self.status), *ssh]
        self.tmux("-f", str(conf), "new-session", "-d", "-s", "t", *size, *pane)
        self.last = ""

    def tmux(self, *argv: str) -> str:
        return tmux(self.socket, *argv)

    def screen(self, *, escapes: bool = False) -> str:
        """What the pane shows now; with ESCAPES, its colours and attributes too."""
        self.last = self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "t")
        return self.last

    def press(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def ended(self) -> str | None:
        """ssh's exit status once it has ended, else None."""
        try:
            return self.status.read_text().strip()
        except FileNotFoundError:
            return None

    def wait_for(self, check: Callable[[str], object], what: str) -> str:
        """Poll the screen until CHECK holds for it; fail with the screen after WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while not check(screen := self.screen()):
            if time.monotonic() > deadline or self.ended() is not None:
                self.fail(f"no {what} on the screen")
            time.sleep(POLL_S)  # polling the screen, with a deadline
        return screen

    def wait_closed(self) -> str:
        """Wait for the ssh session to end; its exit status."""
        deadline = time.monotonic() + WAIT_S
        while (how := self.ended()) is None:
            if time.monotonic() > deadline:
                self.screen()
                self.fail("the ssh session did not end")
            time.sleep(POLL_S)  # polling the pane, with a deadline
        return how

    def fail(self, why: str) -> NoReturn:
        log = self.kit.server("a").log.read_text(errors="replace")[-2000:]
        pytest.fail(f"{why}; the screen:\n{self.last}\nsshd log (tail):\n{log}")

    def close(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.tmux("kill-server")


@pytest.fixture
def monit(tmp_path: Path, ssh_kit: SshKit, corral: Corral) -> Iterator[Callable[..., Monit]]:
    """Opens monit through ssh on the test's daemon; at teardown the tmux server is
    killed first (ending ssh and the remote monit), then the daemon with `corral kill`;
    the `corral` fixture then kills by pid whatever is left, and fails the test for it."""
    opened: list[Monit] = []

    def open_(*env: str) -> Monit:
        opened.append(Monit(tmp_path, ssh_kit, corral.root, *env))
        return opened[-1]

    try:
        yield open_
    finally:
        for session in opened:
            session.close()
        corral("kill")


def statuses(corral: Corral) -> dict[str, tuple[str, int | None]]:
    """name: (status, pid), from the daemon."""
    return {row["name"]: (row["status"], row["pid"]) for row in json.loads(corral.ok("jlist"))}


def wait_status(corral: Corral, name: str, status: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while (now := statuses(corral))[name][0] != status:
        if time.monotonic() > deadline:
            pytest.fail(f"{name} is not {status} after {WAIT_S} s: {now}")
        time.sleep(POLL_S)  # polling the daemon, with a deadline


def start_chatty(corral: Corral, name: str) -> None:
    """A sleeper that prints a line a second, so the log tail has something to show."""
    corral.ok("start", CHATTY, "--name", name, "--", "1000000", "--interval", "1")


def row(screen: str, name: str, status: str) -> bool:
    """The process table shows NAME with STATUS (its symbol too)."""
    return re.search(rf"^│ +\d+ +{name} .* {status} ", screen, re.MULTILINE) is not None


SGR = re.compile(r"\x1b\[([0-9;:]*)m")
GREY_BASIC = {30, 37, 90, 97, 40, 47, 100, 107}


def _grey_256(index: int) -> bool:
    if index < 16:
        return index in (0, 7, 8, 15)
    if index >= 232:
        return True
    red, green, blue = (index - 16) // 36, (index - 16) // 6 % 6, (index - 16) % 6
    return red == green == blue


def chromatic(escaped: str) -> set[str]:
    """The colour codes in ESCAPED (capture-pane -e) that are not black, white or grey."""
    found = set()
    for match in SGR.finditer(escaped):
        params = [int(p) if p.isdigit() else 0 for p in re.split("[;:]", match.group(1))]
        i = 0
        while i < len(params):
            code = params[i]
            if code in (38, 48, 58) and params[i + 1 : i + 2] == [5]:
                if not _grey_256(params[i + 2]):
                    found.add(f"{code};5;{params[i + 2]}")
                i += 3
            elif code in (38, 48, 58) and params[i + 1 : i + 2] == [2]:
                red, green, blue = params[i + 2 : i + 5]
                if not red == green == blue:
                    found.add(f"{code};2;{red};{green};{blue}")
                i += 5
            else:
                if (30 <= code <= 37 or 40 <= code <= 47 or 90 <= code <= 107) and (
                    code not in GREY_BASIC
                ):
                    found.add(str(code))
                i += 1
    return found


def test_monit_over_ssh_drives_the_daemon(corral: Corral, monit: Callable[..., Monit]) -> None:
    """Both apps show up over ssh; s stops alpha, ? shows the keys, q ends the session
    and leaves beta running."""
    start_chatty(corral, "alpha")
    start_chatty(corral, "beta")
    beta_pid = statuses(corral)["beta"][1]
    session = monit()

    screen = session.wait_for(
        lambda s: row(s, "alpha", "● online") and row(s, "beta", "● online"), "two online rows"
    )
    width = SIZE[0]
    box = [line for line in screen.splitlines() if line.startswith("╭─ processes ")]
    assert box and len(box[0]) == width and box[0].endswith("╮"), "the pty is 100 wide"
    session.wait_for(lambda s: "alpha[0] | line" in s, "alpha's lines in the log tail")
    assert chromatic(session.screen(escapes=True)), "xterm-256color: a coloured screen"

    session.press("s")  # the first row, alpha, is selected at start
    wait_status(corral, "alpha", "stopped")
    session.wait_for(lambda s: row(s, "alpha", "○ stopped"), "alpha stopped")
    assert statuses(corral)["beta"] == ("online", beta_pid)

    session.press("?")
    session.wait_for(lambda s: "corral · keys" in s, "the help box")
    session.press("Escape")
    session.wait_for(lambda s: "corral · keys" not in s, "the help box closed")

    session.press("q")
    assert session.wait_closed() == "0", "monit quit, and ssh with it"
    assert statuses(corral) == {"alpha": ("stopped", None), "beta": ("online", beta_pid)}


def test_monit_over_ssh_honours_no_color(corral: Corral, monit: Callable[..., Monit]) -> None:
    """NO_COLOR=1 at the far end: Textual draws in greys only (its monochrome filter
    keeps grey backgrounds, so grey escapes remain); the status keeps its symbol."""
    start_chatty(corral, "alpha")
    session = monit("NO_COLOR=1")
    session.wait_for(lambda s: row(s, "alpha", "● online"), "alpha online")
    session.wait_for(lambda s: "alpha[0] | line" in s, "alpha's lines in the log tail")
    assert chromatic(session.screen(escapes=True)) == set(), session.last
    session.press("q")
    assert session.wait_closed() == "0"
    assert statuses(corral)["alpha"][0] == "online"


DEMO = Path(__file__).parents[2] / "config" / "demo.toml"
TAIL_STAMP = re.compile(r"│(\d\d):(\d\d):(\d\d) \S+\[\d+\] ")
DEMO_S = 20.0
"""The scenario of issue 17: the demo has run for 20 s with monit open."""
FRESH_S = 2.0
"""The newest line shown is at most this old: the demo's worker writes every 0.5 s and
the tail redraws at 4 Hz, so only a tail that stopped following can be older."""


def newest_stamp(screen: str) -> float | None:
    """The time of the bottom-most line of the log tail today (UTC), if one shows."""
    found = [m for line in screen.splitlines() for m in TAIL_STAMP.finditer(line)]
    if not found:
        return None
    h, m, s = (int(g) for g in found[-1].groups())
    return h * 3600 + m * 60 + s


def own_demo(folder: Path) -> Path:
    """config/demo.toml as it is, but for its web app's port: a free one, so another demo
    running on this machine (or a parallel test) cannot make it crash."""
    text = DEMO.read_text().replace('"demo/', f'"{DEMO.parent}/demo/')
    text, swapped = re.subn(r'PORT = "\d+"', f'PORT = "{free_port()}"', text)
    assert swapped == 1, "config/demo.toml no longer sets its web app's PORT"
    path = folder / "demo.toml"
    path.write_text(text)
    return path


@pytest.mark.slow
def test_tail_shows_the_newest_line_after_20_s(
    corral: Corral, monit: Callable[..., Monit], tmp_path: Path
) -> None:
    """Issue 17's first bug: after 20 s of the demo the last tail line is at most 2 s old.

    On a loaded machine a single capture may come late: the check passes when any
    capture within a few seconds shows a line at most FRESH_S older than the moment the
    capture began, which a tail stuck on old lines never does.
    """
    corral.ok("start", str(own_demo(tmp_path)))
    session = monit("TZ=UTC")
    session.wait_for(lambda s: "worker[" in s, "the demo's worker in the log tail")
    time.sleep(DEMO_S)  # sleep-ok: the scenario itself: the demo runs this long, then we look
    deadline = time.monotonic() + 15
    ages = []
    while time.monotonic() < deadline:
        now = time.time() % 86400
        stamp = newest_stamp(session.screen())
        if stamp is not None:
            age = (now - stamp + 43200) % 86400 - 43200  # signed, across midnight
            ages.append(round(age, 1))
            if abs(age) <= FRESH_S:
                return
        time.sleep(0.25)  # the next capture, with a deadline
    pytest.fail(f"the tail's newest line stayed old: ages {ages[-8:]}\n{session.last}")
