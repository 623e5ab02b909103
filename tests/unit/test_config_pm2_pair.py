"""The ported PM2 example in config/pm2-pair: the TOML and the original JS give the same apps."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from corral.config import load_ecosystem

PAIR = Path(__file__).resolve().parents[2] / "config" / "pm2-pair"
BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/home/test"}


def test_toml_production() -> None:
    eco = load_ecosystem(PAIR / "ecosystem.toml", env_profile="production", base_env=BASE_ENV)
    api, worker = eco.apps
    assert (api.name, api.instances, api.max_memory_restart) == ("api", 4, 3 * 1024**3)
    assert (api.max_restarts, api.min_uptime, api.kill_timeout) == (10, 5000, 5000)
    assert api.watch == (str(PAIR / "api.py"),)
    assert api.ignore_watch == ("logs", "*.pyc")
    assert api.out_file == str(PAIR / "logs" / "api-out.log")
    assert api.env["APP_ENV"] == "production"
    assert api.env["PORT"] == "8080"
    assert api.env["LOG_LEVEL"] == "info"  # deploy.production.env, under the app's env
    assert (worker.name, worker.kill_signal, worker.cron_restart) == (
        "worker",
        "SIGTERM",
        "0 4 * * *",
    )
    assert worker.env["QUEUE_URL"] == "redis://queue.internal:6379/0"
    assert eco.deploy["production"]["ref"] == "origin/main"


def test_toml_development() -> None:
    api, _ = load_ecosystem(PAIR / "ecosystem.toml", base_env=BASE_ENV).apps
    assert (api.env["APP_ENV"], api.env["PORT"], api.env["DEBUG"]) == (
        "development",
        "3000",
        "true",
    )
    assert "LOG_LEVEL" not in api.env


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
@pytest.mark.parametrize("profile", ["production", None])
def test_js_and_toml_agree(profile: str | None) -> None:
    toml = load_ecosystem(PAIR / "ecosystem.toml", env_profile=profile, base_env=BASE_ENV)
    js = load_ecosystem(PAIR / "ecosystem.config.js", env_profile=profile, base_env=BASE_ENV)
    assert [dataclasses.replace(app, source=None) for app in toml.apps] == [
        dataclasses.replace(app, source=None) for app in js.apps
    ]
    assert toml.deploy == js.deploy
