"""Provides the local side of a deploy: is the repository clean and pushed, and where is
the config file inside it.

A deploy ships what the remote repository has, not what is on this disk, so PM2 refuses
to deploy while local work is uncommitted or unpushed: the user would believe they
shipped it. corral asks git the same questions in the config file's folder.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence


def _git(cwd: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def repo_root(folder: str) -> str | None:
    """The top of the git work tree FOLDER is in, or None (no repo, or no git)."""
    try:
        done = _git(folder, "rev-parse", "--show-toplevel")
    except OSError:
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def config_in_repo(config_file: str) -> str:
    """CONFIG_FILE's path relative to its repository's root, as `current` will hold it.

    The default post-deploy hook runs in `current` and names the file by this path. A
    file outside any repository is assumed to sit at the root (its bare name).
    """
    folder = os.path.dirname(os.path.abspath(config_file))
    root = repo_root(folder)
    if root is None:
        return os.path.basename(config_file)
    real = os.path.realpath(config_file)
    return os.path.relpath(real, os.path.realpath(root))


def unshipped_work(folder: str) -> list[str]:
    """Why the repository at FOLDER differs from what a deploy would ship ([] when clean).

    Checks what PM2 checks: uncommitted or staged changes to tracked files, and commits
    not pushed to the branch's upstream. A folder outside any repository has nothing
    local to lose, so it passes; a branch without an upstream cannot be checked, so it
    does not.
    """
    if repo_root(folder) is None:
        return []
    reasons: list[str] = []
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    changed = [line[3:] for line in status.stdout.splitlines() if line.strip()]
    if changed:
        reasons.append(f"uncommitted changes in {_some(changed)}")
    upstream = _git(folder, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}")
    if upstream.returncode != 0:
        reasons.append("the current branch has no upstream, so it cannot be checked as pushed")
        return reasons
    ahead = _git(folder, "rev-list", "--count", "@{u}..HEAD")
    count = int(ahead.stdout.strip() or 0) if ahead.returncode == 0 else 0
    if count:
        name = upstream.stdout.strip()
        reasons.append(f"{count} commit{'s' if count > 1 else ''} not pushed to {name}")
    return reasons


def _some(paths: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")
