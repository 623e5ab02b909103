"""The engine, daemon, config and CLI verbs that need no UI never load a UI library.

Each module is imported in a fresh interpreter: the test run itself may have imported
Textual long ago, so checking sys.modules here would prove nothing.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = "import importlib, sys; importlib.import_module(sys.argv[1]); print(*sys.modules)"
UI = {"textual", "rich"}


@pytest.mark.parametrize(
    "module",
    [
        "corral.engine",
        "corral.config",
        "corral.daemon",
        "corral.daemon.main",
        "corral.daemon.methods",
        "corral.daemon.server",
        "corral.persist.daemon",
        "corral.cli.main",
        "corral.cli.up",
        "corral.cli.printer",
    ],
)
def test_headless_import_loads_no_ui(module: str) -> None:
    """A fresh interpreter imports MODULE without loading textual or rich."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE, module], capture_output=True, text=True, check=True
    )
    assert UI.isdisjoint(run.stdout.split())


def test_config_import_is_stdlib_only() -> None:
    """Config parsers for YAML and JSON5 load only when such a file is read."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE, "corral.config"], capture_output=True, text=True, check=True
    )
    assert {"yaml", "json5", "psutil"}.isdisjoint(run.stdout.split())


@pytest.mark.parametrize("module", ["corral.tui.app", "corral.figures", "corral.cli.table"])
def test_front_ends_format_without_psutil(module: str) -> None:
    """The TUI and `corral list` share corral.figures, which needs no psutil (issue 23)."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE, module], capture_output=True, text=True, check=True
    )
    assert "psutil" not in run.stdout.split()


IDLE_PROBE = """
import os, runpy, signal, sys

OUT = sys.argv[2]

def dump(*_):
    with open(OUT + ".tmp", "w") as out:
        out.write(" ".join(k for k, v in sys.modules.items() if v is not None))
    os.rename(OUT + ".tmp", OUT)

signal.signal(signal.SIGUSR1, dump)
sys.argv = ["corral.daemon", "--foreground", "--home", sys.argv[1]]
runpy.run_module("corral.daemon", run_name="__main__", alter_sys=True)
"""
KEPT_OUT = {
    # Loaded when first needed (a stop, a watch, a cron, a config file), never at idle.
    *("psutil", "watchdog", "croniter", "yaml", "json5"),
    # What the daemon's entry point and engine used to pull in for one call each:
    # argparse (with gettext, shutil, bz2, lzma), pathlib (with urllib and ipaddress).
    *("argparse", "gettext", "shutil", "bz2", "lzma", "pathlib", "urllib.parse", "ipaddress"),
    *("ssl", "_hashlib"),  # no TLS, no OpenSSL hashes (corral/daemon/__main__.py)
}


def test_an_idle_daemon_keeps_out_what_it_does_not_use(tmp_path: Path, home: Path) -> None:
    """Every module stays resident for the daemon's life (issue 19: its RSS is a
    benchmark row): a daemon serving with no app, then one that has started and stopped
    an app, has loaded none of KEPT_OUT (psutil came with the first stop until the tree
    walk read /proc itself)."""
    from tests.helpers import Corral, wait_until

    out = tmp_path / "modules"
    daemon = subprocess.Popen(
        [sys.executable, "-c", IDLE_PROBE, str(home), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(lambda: (home / "rpc.sock").exists(), what="the daemon socket")
        corral = Corral(home)
        with corral.client() as client:
            assert client.call("ping")["pong"]
        idle = modules(daemon, out)
        corral.ok("start", shutil.which("sleep") or "/bin/sleep", "--name", "nap", "--", "60")
        corral.ok("stop", "nap")
        after_a_stop = modules(daemon, out)
    finally:
        daemon.terminate()
        daemon.wait(30)
    assert "corral.engine.supervisor" in idle  # the probe saw a serving daemon
    assert KEPT_OUT.isdisjoint(idle), sorted(KEPT_OUT & idle)
    assert "corral.engine.spawn" in after_a_stop
    assert KEPT_OUT.isdisjoint(after_a_stop), sorted(KEPT_OUT & after_a_stop)


def modules(daemon: subprocess.Popen[bytes], out: Path) -> set[str]:
    """The modules the probed DAEMON has loaded now (it writes them to OUT on SIGUSR1)."""
    from tests.helpers import wait_until

    out.unlink(missing_ok=True)
    daemon.send_signal(signal.SIGUSR1)
    wait_until(out.exists, what="the module list")
    return set(out.read_text().split())
