"""Which interpreter flags the CLI gives the daemon it starts (corral.daemon.launch)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from corral.daemon.launch import optimize_flags


def cached_in(folder: Path) -> object:
    """A cache_from_source that puts every `.opt-2.pyc` under FOLDER/__pycache__."""

    def where(source: str, optimization: object = None) -> str:
        return str(folder / "__pycache__" / (Path(source).stem + ".opt-2.pyc"))

    return where


def test_docstrings_go_where_their_bytecode_is_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importlib.util, "cache_from_source", cached_in(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    (tmp_path / "__pycache__").mkdir()
    for name in ("main", "base_events"):
        (tmp_path / "__pycache__" / f"{name}.opt-2.pyc").write_bytes(b"")
    assert optimize_flags() == ["-OO"]


def test_docstrings_go_where_their_bytecode_can_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importlib.util, "cache_from_source", cached_in(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert optimize_flags() == ["-OO"]


def test_no_flag_where_every_start_would_compile_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PYTHONDONTWRITEBYTECODE and no cache: compiling each module at every start would
    cost more than the docstrings' 0.7 MiB."""
    monkeypatch.setattr(importlib.util, "cache_from_source", cached_in(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert optimize_flags() == []
