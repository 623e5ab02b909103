"""`corral init`'s starter files load, and so does the TOML one with every comment taken out.

The commented keys are the ones a user uncomments first: each must be a key corral knows,
with a value it accepts, or the first edit of a new user is a config error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from corral.cli.init import FULL_TOML, starter
from corral.config import load_ecosystem
from corral.deploy.config import deploy_target


def _uncommented(text: str) -> str:
    text = re.sub(r"^# (\w[\w-]* = )", r"\1", text, flags=re.MULTILINE)
    return text.replace("# [deploy.production]", "[deploy.production]")


def test_the_full_starter_with_every_key_uncommented_loads(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print('hello')\n")
    path = tmp_path / "ecosystem.toml"
    path.write_text(_uncommented(FULL_TOML))
    assert "# max_memory_restart" not in path.read_text(), "the test uncommented the keys"
    eco = load_ecosystem(path, env_profile="production")
    [app] = eco.apps
    assert (app.name, app.instances, app.listen, app.env["APP_ENV"]) == (
        "app",
        2,
        (":8000",),
        "production",
    )
    assert app.max_memory_restart == 300 * 1024 * 1024 and app.cron_restart == "0 3 * * *"
    target = deploy_target(
        eco.deploy, "production", label=str(path), config_file=str(path), config_in_repo="e.toml"
    )
    assert target is not None


@pytest.mark.parametrize("fmt", ["toml", "json", "yaml"])
@pytest.mark.parametrize("simple", [False, True])
def test_every_starter_loads_as_written(tmp_path: Path, fmt: str, simple: bool) -> None:
    (tmp_path / "app.py").write_text("print('hello')\n")
    path = tmp_path / f"ecosystem.{fmt}"
    path.write_text(starter(fmt, simple))
    [app] = load_ecosystem(path).apps
    assert app.name == "app" and app.script == str(tmp_path / "app.py")
    if fmt == "json":
        assert json.loads(path.read_text())["apps"][0]["name"] == "app"
