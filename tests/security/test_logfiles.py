"""Symbolic-link games with log files: the daemon (root on many servers) must never write,
truncate or create a file through a link another user planted where a log should be."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import APPS, PYTHON, Corral, wait_until

pytestmark = pytest.mark.timeout(60)
SECRET = b"root:x:0:0:do not touch\n"


def config(tmp_path: Path, out: Path, **extra: str) -> Path:
    """An ecosystem file for chatty.py writing its output to OUT."""
    lines = [
        "[[apps]]",
        'name = "web"',
        f'script = "{APPS / "chatty.py"}"',
        f'interpreter = "{PYTHON}"',
        'args = ["1000000", "--interval", "0.001"]',
        f'out_file = "{out}"',
        'error_file = "/dev/null"',
        *(f"{key} = {value}" for key, value in extra.items()),
    ]
    path = tmp_path / "eco.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-file", "dangling"])
def test_a_log_path_that_is_a_symlink_is_refused_at_start(
    corral: Corral, tmp_path: Path, dangling: bool
) -> None:
    shared, target = tmp_path / "shared", tmp_path / "etc-x"
    shared.mkdir()
    if not dangling:
        target.write_bytes(SECRET)
    (shared / "web-out.log").symlink_to(target)
    code, out, err = corral("start", str(config(tmp_path, shared / "web-out.log")))
    assert code == 2, out + err
    assert "app web" in err and str(shared / "web-out.log") in err and "symbolic link" in err
    assert corral.rows() == []  # nothing started
    if dangling:
        assert not target.exists()
    else:
        assert target.read_bytes() == SECRET


def test_flush_and_rotation_never_reach_a_link_swapped_in_after_start(
    corral: Corral, tmp_path: Path
) -> None:
    """The attacker waits until the file is open, then replaces it with a link."""
    shared, target = tmp_path / "shared", tmp_path / "etc-x"
    shared.mkdir()
    target.write_bytes(SECRET)
    log = shared / "web-out.log"
    corral.ok("start", str(config(tmp_path, log, log_max_size='"4K"')))
    wait_until(lambda: log.exists() and log.stat().st_size > 0, what="the first lines")
    os.unlink(log)
    log.symlink_to(target)
    corral.ok("flush", "web")
    # The app keeps writing; at 4 KiB its file rotates, and the path is not ours any more.
    daemon_log = Path(corral.home.log)
    wait_until(
        lambda: b"not rotated" in daemon_log.read_bytes() or target.read_bytes() != SECRET,
        what="a rotation to be attempted",
    )
    assert target.read_bytes() == SECRET
    assert log.is_symlink() and os.readlink(log) == str(target)
