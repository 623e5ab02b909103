"""The packages stay layered: `lint-imports` checks pyproject's contracts (config imports
nothing of corral, the engine nothing above config, the TUI reaches the daemon only
through SupervisorAPI, persist never imports the daemon, nothing headless loads a UI).

Run in a subprocess, as CI would, so the contracts are read from pyproject.toml itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    """Every contract in [tool.importlinter] is KEPT; a broken one names the import."""
    script = shutil.which("lint-imports", path=os.path.dirname(sys.executable))
    assert script is not None, "import-linter is missing: pip install -e '.[test]'"
    run = subprocess.run(
        [script, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROKEN" not in run.stdout and " KEPT" in run.stdout
