"""Fixtures of the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding app.py, the script the config examples run."""
    (tmp_path / "app.py").write_text("print('hi')\n")
    return tmp_path
