"""Provides a fingerprint of the corral source under test, to catch a tree that moved.

A full run takes minutes while others may be editing the same checkout; a round that
ran different code than its neighbours would make the medians mean nothing. The report
names the commit (and whether the tree was dirty) and says so if the source changed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
from pathlib import Path


def package_dir() -> Path | None:
    """The folder of the `corral` package this Python imports (editable or not)."""
    spec = importlib.util.find_spec("corral")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def fingerprint() -> str:
    """A hash of every .py file's path, size and mtime under the package ("" if none)."""
    folder = package_dir()
    if folder is None:
        return ""
    digest = hashlib.sha1()
    for path in sorted(folder.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def describe() -> str:
    """The commit the package sits in and whether its tree has uncommitted changes."""
    folder = package_dir()
    if folder is None:
        return "corral is not importable here"

    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=False
        )
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return f"{folder} (not a git checkout)"
    dirty = git("status", "--porcelain", "--", ".")
    return f"commit {commit}" + (" plus uncommitted changes" if dirty else "") + f" ({folder})"
