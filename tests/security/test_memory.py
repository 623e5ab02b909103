"""Attacks on the daemon's memory: readers that stop reading beside a fast writer, and a
flood of clients that each send a megabyte without a newline.

Margins: a stalled subscriber may cost its queue (4 MiB) plus one batch in the socket
buffer; 64 MiB of growth is far above that and far below what the old daemon grew by
(every byte the writer wrote: 200 MB here), so a loaded machine cannot flip the outcome.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from corral.daemon import protocol
from tests.helpers import APPS, PYTHON, Corral, rss, settled_rss, wait_until

pytestmark = pytest.mark.timeout(120)

FLOOD_MB = 200
GROWTH_MARGIN = 64 * 1024 * 1024
IDLE_MARGIN = 10 * 1024 * 1024
"""The issue's bound: after a flood the daemon is back within 10 MiB of its idle RSS."""


def start_blaster(corral: Corral, tmp_path: Path) -> Path:
    """The flooding app, waiting for the returned file to exist before it floods."""
    go = tmp_path / "go"
    blaster = str(APPS / "blaster.py")
    corral.ok(
        "start", blaster, "--name", "blast", "--interpreter", PYTHON, "--", str(FLOOD_MB), str(go)
    )
    return go


def logged_bytes(corral: Corral) -> int:
    """Bytes the daemon has written to the logs folder (rotated files included)."""
    folder = Path(corral.root) / "logs"
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def flood_and_watch(corral: Corral, go: Path, baseline: int) -> int:
    """Let the writer flood until the daemon has logged all of it; the highest RSS seen."""
    pid, peak = corral.pid(), 0
    go.touch()
    deadline = time.monotonic() + 90
    while logged_bytes(corral) < FLOOD_MB * 1024 * 1024:
        peak = max(peak, rss(pid))
        assert peak - baseline < GROWTH_MARGIN, f"daemon grew by {(peak - baseline) >> 20} MiB"
        assert time.monotonic() < deadline, "the flood was not logged in 90 s"
        time.sleep(0.02)  # sampling the daemon's memory while it works
    return max(peak, rss(pid))


def raw_subscriber(corral: Corral) -> tuple[socket.socket, io.BufferedReader]:
    """A subscribed socket with a small receive buffer (so it stalls soon when not read)."""
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(corral.home.socket)
    reader = sock.makefile("rb")
    reader.readline()
    sock.sendall(protocol.encode(protocol.hello()))
    sock.sendall(protocol.encode(protocol.request(1, "subscribe", {})))
    assert b'"subscribed"' in reader.readline()
    return sock, reader


def close(sock: socket.socket, reader: io.BufferedReader) -> None:
    """Hang up now: a socket with a makefile reader open stays connected after close()."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    reader.close()


def test_a_raw_subscriber_that_never_reads_keeps_the_daemon_flat(
    corral: Corral, tmp_path: Path
) -> None:
    go = start_blaster(corral, tmp_path)
    sock, reader = raw_subscriber(corral)
    # A second subscriber keeps reading: the stalled one must not hold it up. (It may lag
    # too, reading slower than the flood, but it is served: it sees the stop that follows.)
    other, other_reader = raw_subscriber(corral)
    stopped = threading.Event()

    def keep_reading() -> None:
        for line in other_reader:
            if b'"status":"stopped"' in line:
                stopped.set()
                return

    threading.Thread(target=keep_reading, daemon=True).start()
    with contextlib.ExitStack() as hang_up:
        for each, its_reader in ((sock, reader), (other, other_reader)):
            hang_up.callback(close, each, its_reader)
        baseline = settled_rss(corral.pid())
        peak = flood_and_watch(corral, go, baseline)
        print(f"raw subscriber: baseline {baseline >> 20} MiB, peak {peak >> 20} MiB")
        assert peak - baseline < GROWTH_MARGIN
        corral.ok("stop", "blast")
        assert stopped.wait(30), "the subscriber that kept reading did not see the stop"
        # Reading again, it is told how much it missed, then gets live events.
        deadline = time.monotonic() + 30
        while b'"kind":"lagged"' not in reader.readline():
            assert time.monotonic() < deadline, "no lagged event"
    with corral.client() as client:
        assert client.call("ping")["pong"] is True
    pid = corral.pid()
    wait_until(
        lambda: settled_rss(pid) - baseline < IDLE_MARGIN,
        timeout=20,
        what=f"RSS back within 10 MiB of {baseline >> 20} MiB once the subscribers left",
    )


def test_corral_logs_into_a_stalled_pipe_keeps_the_daemon_flat(
    corral: Corral, tmp_path: Path
) -> None:
    """`corral logs blast | sleep`: the CLI blocks on its stdout and stops reading."""
    go = start_blaster(corral, tmp_path)
    logs = subprocess.Popen(
        [PYTHON, "-m", "corral", "logs", "blast", "--lines", "0", "--raw"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, CORRAL_HOME=corral.root),
    )
    try:
        assert logs.stdout is not None
        assert logs.stdout.readline().startswith(b"waiting")  # subscribed and live
        baseline = settled_rss(corral.pid())
        peak = flood_and_watch(corral, go, baseline)
        print(f"corral logs: baseline {baseline >> 20} MiB, peak {peak >> 20} MiB")
        assert peak - baseline < GROWTH_MARGIN
        seen: list[bytes] = []

        def drain() -> None:
            assert logs.stdout is not None
            for line in logs.stdout:
                if b"fell behind" in line:
                    seen.append(line)
                    return

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        reader.join(60)
        assert seen and b"missed" in seen[0], "corral logs did not say it missed lines"
    finally:
        logs.kill()
        logs.wait()


@pytest.mark.parametrize("hello", [True, False], ids=["after-hello", "before-hello"])
def test_memory_returns_to_idle_after_a_flood_of_partial_lines(corral: Corral, hello: bool) -> None:
    """250 clients each send ~1 MiB without a newline (after their hello, or instead of
    it: that is cut off at 4 KiB), then leave."""
    corral.ok("ping")
    pid = corral.pid()
    for _ in range(20):  # warm up: the first connections allocate for good
        with corral.client() as client:
            client.call("list")
    idle = settled_rss(pid)
    socks = []
    try:
        for _ in range(250):
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(30)
            sock.connect(corral.home.socket)
            if hello:
                sock.sendall(protocol.encode(protocol.hello()) + b'{"id": 1, "method": "')
            with contextlib.suppress(OSError):  # the daemon may refuse; it must still recover
                sock.sendall(b"x" * (1024 * 1024 - 100))
            socks.append(sock)
        peak = rss(pid)
    finally:
        for sock in socks:
            sock.close()
    print(f"partial lines: idle {idle >> 20} MiB, peak {peak >> 20} MiB")
    wait_until(
        lambda: settled_rss(pid) - idle < IDLE_MARGIN,
        timeout=20,
        what=f"RSS back within 10 MiB of idle {idle >> 20} MiB (now {rss(pid) >> 20} MiB)",
    )
    with corral.client() as client:
        assert client.call("ping")["pong"] is True
