"""Ecosystem files started through the daemon behave as under pm2 7.0.4: log file names,
`--no-autostart`, profile warnings, and `corral config` (what corral read, nothing run).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import SLEEPER, Corral, wait_until

pytestmark = pytest.mark.timeout(90)


def write(folder: Path, *apps: dict[str, object]) -> Path:
    path = folder / "ecosystem.json"
    path.write_text(json.dumps({"apps": list(apps)}))
    return path


def test_one_cluster_instance_logs_to_name_dash_id_as_pm2(corral: Corral, tmp_path: Path) -> None:
    """A real pm2 file: instances 1, exec_mode cluster, out_file nestServer.log."""
    eco = write(
        tmp_path,
        {
            "name": "nest",
            "script": SLEEPER,
            "instances": 1,
            "exec_mode": "cluster",
            "out_file": "nestServer.log",
        },
    )
    corral.ok("start", str(eco))
    [row] = corral.rows()
    expected = tmp_path / f"nestServer-{row['id']}.log"
    wait_until(lambda: expected.exists() and "ready" in expected.read_text(), what=str(expected))
    assert not (tmp_path / "nestServer.log").exists()


def test_no_autostart_registers_an_ecosystem_file_stopped(corral: Corral, tmp_path: Path) -> None:
    eco = write(tmp_path, {"name": "a", "script": SLEEPER}, {"name": "b", "script": SLEEPER})
    corral.ok("start", str(eco), "--no-autostart")
    assert {str(r["name"]): r["status"] for r in corral.rows()} == {"a": "stopped", "b": "stopped"}
    corral.ok("start", "a")
    wait_until(lambda: {str(r["name"]): r["status"] for r in corral.rows()}["a"] == "online")


def test_a_profile_some_apps_lack_is_a_warning_per_app(corral: Corral, tmp_path: Path) -> None:
    eco = write(
        tmp_path,
        {"name": "a", "script": SLEEPER, "env_production": {"MODE": "prod"}},
        {"name": "b", "script": SLEEPER},
    )
    code, _out, err = corral("start", str(eco), "--env", "production")
    assert code == 0, err
    assert err.count("warning") == 1 and "app 'b'" in err and "env_production" in err


def test_config_shows_every_setting_and_its_origin_without_a_daemon(
    corral: Corral, tmp_path: Path
) -> None:
    eco = write(
        tmp_path,
        {
            "name": "web",
            "script": SLEEPER,
            "instances": 2,
            "combine_logs": True,
            "env": {"MODE": "dev"},
            "env_production": {"MODE": "prod"},
        },
        {"name": "worker", "cmd": SLEEPER},
    )
    out = corral.ok("config", str(eco), "--env", "production", "--json")
    report = json.loads(out)
    web, worker = report["apps"]
    assert web["settings"]["instances"] == {"value": 2, "from": "file"}
    assert web["settings"]["merge_logs"] == {
        "value": True,
        "from": "file",
        "detail": "combine_logs",
    }
    assert web["settings"]["kill_timeout"] == {"value": 1600, "from": "default"}
    assert web["env"]["MODE"] == {"value": "prod", "from": "env_production"}
    assert worker["settings"]["script"]["detail"] == "cmd"
    assert worker["settings"]["merge_logs"]["from"] == "derived"
    assert [w.split(": ", 1)[1] for w in report["warnings"]] == [
        "app 'worker': has no env_production; it runs with its plain env (as in PM2)"
    ]
    text = corral.ok("config", str(eco), "--only", "web")
    assert "app web" in text and "app worker" not in text and "[default]" in text
    assert not (Path(corral.root) / "daemon.pid").exists()


def test_config_of_a_bad_file_exits_2_without_a_daemon(corral: Corral, tmp_path: Path) -> None:
    eco = write(tmp_path, {"name": "all", "script": SLEEPER})
    code, _out, err = corral("config", str(eco))
    assert code == 2 and "'name'" in err and "reserved" in err
    assert not (Path(corral.root) / "daemon.pid").exists()
