"""Every daemon verb through the CLI: flags, target forms, output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import APPS, PYTHON, SLEEPER, Corral, wait_until

pytestmark = pytest.mark.timeout(90)


def by_name(corral: Corral) -> dict[str, dict[str, Any]]:
    """jlist's rows by app name (JSON: any value)."""
    return {str(r["name"]): r for r in json.loads(corral.ok("jlist"))}


def test_start_maps_every_pm2_flag_into_the_spec(corral: Corral, tmp_path: Path) -> None:
    out = corral.ok(
        "start", SLEEPER, "--name", "web", "-i", "2", "--namespace", "api",
        "--interpreter", PYTHON, "--interpreter-args", "-u -X dev", "--cwd", str(tmp_path),
        "--max-memory-restart", "200M", "--restart-delay", "1s",
        "--exp-backoff-restart-delay", "100", "--max-restarts", "5", "--min-uptime", "2s",
        "--kill-timeout", "3000", "--cron-restart", "0 * * * *", "--no-autorestart",
        "--stop-exit-codes", "0", "3", "--merge-logs", "--log-date-format", "YYYY",
        "--time", "-o", "out.log", "-e", "err.log", "-l", "all.log",
        "--watch", "--ignore-watch", "node_modules,tmp", "--", "a", "b",
    )  # fmt: skip
    assert "start: web (0), web (1)" in out
    [row, second] = json.loads(corral.ok("jlist"))
    spec = row["spec"]
    assert (row["namespace"], row["status"], second["instance"]) == ("api", "online", 1)
    assert spec["args"] == ["a", "b"] and spec["interpreter_args"] == ["-u", "-X", "dev"]
    assert spec["cwd"] == str(tmp_path) and spec["instances"] == 2
    assert spec["max_memory_restart"] == 200 * 1024 * 1024 and spec["restart_delay"] == 1000
    assert spec["exp_backoff_restart_delay"] == 100 and spec["max_restarts"] == 5
    assert spec["min_uptime"] == 2000 and spec["kill_timeout"] == 3000
    assert spec["cron_restart"] == "0 * * * *" and spec["autorestart"] is False
    assert spec["stop_exit_codes"] == [0, 3] and spec["merge_logs"] is True
    assert spec["log_date_format"] is None and spec["time"] is True  # --time wins, as in PM2
    assert spec["out_file"] == str(tmp_path / "out.log")
    assert row["logs"] == {
        "out": str(tmp_path / "out.log"),
        "err": str(tmp_path / "err.log"),
        "combined": str(tmp_path / "all.log"),
    }
    assert spec["watch"] is True and spec["ignore_watch"] == ["node_modules", "tmp"]
    assert isinstance(row["watch"], bool)  # whether the engine watches it right now
    keys = "id name namespace instance pid status restarts unstable_restarts uptime_ms cpu"
    assert set(f"{keys} memory exec_mode watch env logs spec user".split()) <= set(row)
    assert row["env"]["CORRAL_HOME"] == corral.root and row["env"]["NODE_APP_INSTANCE"] == "0"


def test_start_an_ecosystem_file_with_only_and_env(corral: Corral, tmp_path: Path) -> None:
    eco = tmp_path / "ecosystem.toml"
    eco.write_text(
        textwrap.dedent(f"""
        [[apps]]
        name = "a"
        script = "{SLEEPER}"
        env = {{ MODE = "dev" }}
        env_production = {{ MODE = "prod" }}

        [[apps]]
        name = "b"
        script = "{SLEEPER}"
        """)
    )
    corral.ok("start", str(eco), "--only", "a", "--env", "production")
    apps = by_name(corral)
    assert list(apps) == ["a"] and apps["a"]["env"]["MODE"] == "prod"
    corral.ok("start", str(eco))  # a runs: restarted with the new spec; b starts
    apps = by_name(corral)
    assert apps["a"]["restarts"] == 1 and apps["a"]["env"]["MODE"] == "dev"
    assert apps["b"]["status"] == "online"
    corral.ok("stop", str(eco), "--only", "b")
    assert by_name(corral)["b"]["status"] == "stopped"
    corral.ok("delete", str(eco))
    assert by_name(corral) == {}
    code, _out, err = corral("start", str(eco), "--only", "zzz")
    assert code == 2 and "zzz" in err


def test_start_of_a_known_name_or_id_restarts_it(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "web")
    corral.ok("stop", "web")
    corral.ok("start", "web")
    assert by_name(corral)["web"]["status"] == "online"
    corral.ok("start", "0")
    corral.ok("start", SLEEPER, "--name", "web", "--", "again")  # same name: new spec
    web = by_name(corral)["web"]
    # Starting the stopped app was no restart (PM2's restart_time); the other two were.
    assert web["restarts"] == 2 and web["spec"]["args"] == ["again"] and len(by_name(corral)) == 1


def test_every_target_form_and_unknown_targets(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "a", "--namespace", "front")
    corral.ok("start", SLEEPER, "--name", "b", "--namespace", "front")
    corral.ok("start", SLEEPER, "--name", "c")

    def status() -> list[object]:
        return [r["status"] for r in json.loads(corral.ok("jlist"))]

    corral.ok("stop", "0")
    assert status() == ["stopped", "online", "online"]
    corral.ok("restart", "front")
    assert status() == ["online", "online", "online"]
    corral.ok("stop", "c", "1")
    assert status() == ["online", "stopped", "stopped"]
    code, out, err = corral("stop", "a", "nope")
    assert (code, out) == (1, "") and "nope" in err
    assert status() == ["online", "stopped", "stopped"], "nothing changed"
    out = corral.ok("stop", "all", "--json")
    assert [r["status"] for r in json.loads(out)] == ["stopped"] * 3
    code, _out, err = corral("restart", "9")
    assert code == 1 and "not found: 9" in err


def test_restart_update_env_gives_the_shell_environment(
    corral: Corral, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORRAL_TEST_VALUE", "one")
    corral.ok("start", str(APPS / "envdump.py"), "--name", "env")
    monkeypatch.setenv("CORRAL_TEST_VALUE", "two")
    corral.ok("restart", "env")
    assert "CORRAL_TEST_VALUE: one" in corral.ok("env", "env")
    corral.ok("restart", "env", "--update-env")
    assert "CORRAL_TEST_VALUE: two" in corral.ok("env", "0")
    assert json.loads(corral.ok("env", "env", "--json"))["CORRAL_TEST_VALUE"] == "two"


def test_scale_signal_reset_and_delete(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "web")
    assert len(json.loads(corral.ok("scale", "web", "+2", "--json"))) == 3
    assert len(json.loads(corral.ok("scale", "web", "-1", "--json"))) == 2
    assert len(json.loads(corral.ok("scale", "web", "1", "--json"))) == 1
    before = by_name(corral)["web"]["pid"]
    corral.ok("signal", "SIGKILL", "web")  # the app dies; the policy restarts it
    wait_until(lambda: by_name(corral)["web"]["pid"] not in (before, None), what="a restart")
    assert by_name(corral)["web"]["restarts"] == 1
    corral.ok("reset", "web")
    assert by_name(corral)["web"]["restarts"] == 0
    corral.ok("delete", "web")
    assert by_name(corral) == {}
    corral.ok("start", SLEEPER, "--name", "again")
    assert by_name(corral)["again"]["id"] == 0, "ids restart from 0 once the table is empty"


def test_bad_usage_and_bad_config_exit_2_and_change_nothing(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "web")
    for argv, text in [
        (("start", "missing.py"), "script not found"),
        (("start", SLEEPER, "--max-restarts", "lots"), "max_restarts"),
        (("start", SLEEPER, "nope.py"), "script not found"),
        (("start", SLEEPER, SLEEPER, "--name", "x"), "--name"),
        (("start", SLEEPER, "--env", "production"), "--env"),
        (("scale", "web", "many"), "count"),
        (("signal", "SIGNOPE", "web"), "SIGNOPE"),
        (("list", "--", "x"), "after --"),
        (("stop",), "required"),
    ]:
        code, _out, err = corral(*argv)
        assert code == 2 and text in err, (argv, err)
    assert list(by_name(corral)) == ["web"]
    assert corral("scale", "nope", "2")[0] == 1
    assert corral()[0] == 2


def test_list_describe_and_jlist_output(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "web", "--namespace", "api")
    table = corral.ok("list")
    header = table.splitlines()[0].split()
    assert header[:4] == ["id", "name", "namespace", "mode"] and "watching" in header
    assert "online" in table and "\x1b[" not in table  # piped: no colour
    for alias in ("ls", "status", "ps", "l"):
        assert corral.ok(alias).splitlines()[0].split() == header
    assert json.loads(corral.ok("list", "--json"))[0]["name"] == "web"
    text = corral.ok("describe", "web")
    head = "Describing process with id 0 - name web"
    for part in (head, "script path", SLEEPER, "out log path", "restarts", "env keys", "PATH"):
        assert part in text
    assert json.loads(corral.ok("show", "0", "--json"))[0]["id"] == 0


def test_ping_and_kill(corral: Corral) -> None:
    assert corral.ok("kill").strip() == "[corral] no daemon running"
    assert "pong" in corral.ok("ping")
    assert json.loads(corral.ok("ping", "--json"))["pong"] is True
    assert "daemon stopped" in corral.ok("kill")


def test_jlist_imports_stay_light(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "web")
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "corral", "jlist"],
        capture_output=True,
        text=True,
        env=dict(os.environ, CORRAL_HOME=corral.root),
        check=True,
        timeout=30,
    )
    loaded = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if "|" in line}
    heavy = {"asyncio", "psutil", "yaml", "json5", "textual", "rich", "corral.engine"}
    heavy |= {"corral.config", "subprocess", "tomllib", "typing", "dataclasses", "pathlib"}
    assert not heavy & loaded, heavy & loaded
    assert json.loads(run.stdout)[0]["name"] == "web"
