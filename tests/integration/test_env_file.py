"""env_file end to end: a real app reads its settings from .env and a profile's file, with
the same precedence through the daemon and through `corral up`; describe masks the values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import Corral, Up, wait_until

pytestmark = pytest.mark.timeout(60)

SHOW = """\
import json, os, sys, time
print("ENV " + json.dumps({k: os.environ.get(k) for k in "ABCD"}), flush=True)
if sys.argv[1:] != ["exit"]:
    time.sleep(3600)
"""

EXPECTED = {"A": "dotenv", "B": "prodfile", "C": "env", "D": "env_production"}


def project(tmp_path: Path, *args: str) -> Path:
    """An app whose four settings come from four layers; the file lives in its own folder."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "show.py").write_text(SHOW)
    (folder / ".env").write_text("A=dotenv\nB=dotenv\nC=dotenv\nD=dotenv\nTOKEN=s3cr3t\n")
    (folder / ".env.production").write_text("B=prodfile\nC=prodfile\nD=prodfile\n")
    path = folder / "corral.toml"
    path.write_text(
        '[[apps]]\nname = "web"\nscript = "show.py"\n'
        f"args = {json.dumps(list(args))}\nautorestart = false\n"
        'env_file = [".env", "-.env.local"]\nenv_file_production = ".env.production"\n'
        'env = { C = "env", D = "env" }\nenv_production = { D = "env_production" }\n'
    )
    return path


def test_daemon_app_gets_file_values_in_order_and_describe_masks_them(
    corral: Corral, tmp_path: Path
) -> None:
    path = project(tmp_path)
    corral.ok("start", str(path), "--env", "production")
    [row] = corral.rows()
    out_log = Path(row["logs"]["out"])
    wait_until(lambda: out_log.exists() and "ENV " in out_log.read_text())
    line = next(x for x in out_log.read_text().splitlines() if x.startswith("ENV "))
    assert json.loads(line[4:]) == EXPECTED

    text = corral.ok("describe", "web")
    assert "TOKEN" in text and "A" in text  # keys are always shown
    assert "s3cr3t" not in text and "dotenv" not in text
    assert "s3cr3t" not in corral.ok("describe", "web", "--json")
    assert "s3cr3t" not in corral.ok("env", "web")
    assert "TOKEN=s3cr3t" in corral.ok("describe", "web", "--show-secrets")
    assert "TOKEN: s3cr3t" in corral.ok("env", "web", "--show-secrets")


def test_up_app_gets_the_same_environment(
    tmp_path: Path, up_env: dict[str, str], runner: list[Up]
) -> None:
    path = project(tmp_path, "exit")
    up = Up([str(path), "--env", "production"], tmp_path, up_env)  # cwd: not the file's folder
    runner.append(up)
    [line] = up.wait_for(r"ENV \{")
    assert json.loads(line[line.index("ENV ") + 4 :]) == EXPECTED
    code, _ = up.finish()
    assert code == 0


def test_restart_of_the_file_re_reads_its_env_files(corral: Corral, tmp_path: Path) -> None:
    path = project(tmp_path)
    corral.ok("start", str(path))
    [row] = corral.rows()
    out_log = Path(row["logs"]["out"])

    def seen() -> list[dict[str, str]]:
        text = out_log.read_text() if out_log.exists() else ""
        return [json.loads(x[4:]) for x in text.splitlines() if x.startswith("ENV ")]

    wait_until(lambda: len(seen()) == 1)
    assert seen()[0]["A"] == "dotenv"
    (path.parent / ".env.local").write_text("A=local\n")  # the optional file now exists
    corral.ok("restart", str(path))
    wait_until(lambda: len(seen()) == 2)
    assert seen()[1]["A"] == "local"
