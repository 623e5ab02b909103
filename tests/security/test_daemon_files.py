"""The daemon's own files: modes kept private whenever they are written, daemon.log that
no name can forge a line in, and a `scale` that never silently deletes an app."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from tests.helpers import APPS, PYTHON, Corral

pytestmark = pytest.mark.timeout(60)
SLEEPER = str(APPS / "sleeper.py")
STAMP = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_modes_changed_by_mistake_are_set_back_and_reported(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "web", "--interpreter", PYTHON)
    corral.ok("save")
    corral.ok("save")  # now dump.json.bak exists too
    root = Path(corral.root)
    dump, backup = root / "dump.json", root / "dump.json.bak"
    out_log = root / "logs" / "web-out.log"
    for path in (dump, backup):
        os.chmod(path, 0o644)
    os.chmod(root, 0o755)
    os.chmod(out_log, 0o666)
    corral.ok("save")
    corral.ok("reloadLogs")  # the daemon reopens every log file
    assert mode(root) == 0o700
    assert mode(dump) == 0o600 and mode(backup) == 0o600
    assert mode(out_log) == 0o640
    said = Path(corral.home.log).read_text()
    assert f"{root} had mode 0755; set back to 0700" in said
    assert f"{backup} had mode 0644; set back to 0600" in said
    assert f"{dump} had mode 0644; set back to 0600" in said
    assert f"{out_log} had mode 0666" in said


def test_a_name_with_newlines_cannot_forge_a_line_in_daemon_log(corral: Corral) -> None:
    """Config validation refuses such names; the daemon must hold even if one gets through
    (an older CLI, a raw client), so the spec is sent over the socket directly."""
    corral.ok("ping")
    evil = "web\n2026-01-01 00:00:00.000 FORGED entry\r2026-01-01 00:00:00.000 FORGED\x1b[2K"
    spec = {"name": evil, "script": SLEEPER, "interpreter": PYTHON, "cwd": str(APPS)}
    with corral.client() as client:
        client.call("add", specs=[spec])
        client.call("delete", targets=[evil])
    text = Path(corral.home.log).read_bytes()
    assert b"FORGED" in text  # the name was logged
    for line in text.split(b"\n"):
        assert not (STAMP.match(line) and line[24:].startswith(b"FORGED")), line
        assert b"\r" not in line and b"\x1b" not in line
        assert not line or STAMP.match(line) or line.startswith(b"  "), line


def test_scale_below_zero_is_refused_and_the_app_stays(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "web", "--interpreter", PYTHON)
    code, _out, err = corral("scale", "web", "-999999")
    assert code == 2 and "cannot scale web to -999998" in err
    assert [row["name"] for row in corral.rows()] == ["web"]
    code, _out, err = corral("scale", "web", "-1")  # to exactly 0 is allowed, said plainly
    assert code == 0, err
