"""The engine, daemon, config and CLI verbs that need no UI never load a UI library.

Each module is imported in a fresh interpreter: the test run itself may have imported
Textual long ago, so checking sys.modules here would prove nothing.
"""

from __future__ import annotations

import subprocess
import sys

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
