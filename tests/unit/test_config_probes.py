"""readiness_probe, liveness_probe and health_check as config: every format, every mistake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from corral.config import AppSpec, ConfigError, load_ecosystem
from corral.config.spec import Probe
from corral.daemon.specs import problems as wire_problems
from tests.helpers import spec_in

TOML = """
[[apps]]
name = "db"
script = "app.py"
readiness_probe = { exec = "test -f /run/db.ready", period = "1s" }

[[apps]]
name = "web"
script = "app.py"
readiness_probe = { tcp = "127.0.0.1:5432" }
liveness_probe = { http = "http://127.0.0.1:8000/health", period = "2s", failure_threshold = 3 }
"""

EXPECTED = {
    "db": (Probe("exec", "test -f /run/db.ready", period=1000), None),
    "web": (
        Probe("tcp", "127.0.0.1:5432"),
        Probe("http", "http://127.0.0.1:8000/health", period=2000, failure_threshold=3),
    ),
}


def messages(folder: Path, **raw: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        spec_in(folder, **raw)
    return [str(problem) for problem in caught.value.problems]


def probes_of(path: Path) -> dict[str, tuple[Probe | None, Probe | None]]:
    eco = load_ecosystem(path, base_env={"PATH": os.environ["PATH"]})
    return {a.name: (a.readiness_probe, a.liveness_probe) for a in eco.apps}


def test_the_issue_examples_in_toml(folder: Path) -> None:
    (folder / "eco.toml").write_text(TOML)
    assert probes_of(folder / "eco.toml") == EXPECTED


def test_json_yaml_and_js_take_the_same_tables_and_camel_case(folder: Path) -> None:
    apps = [
        {
            "name": "db",
            "script": "app.py",
            "readinessProbe": {"exec": "test -f /run/db.ready", "period": "1s"},
        },
        {
            "name": "web",
            "script": "app.py",
            "readiness_probe": {"tcp": "127.0.0.1:5432"},
            "livenessProbe": {
                "http": "http://127.0.0.1:8000/health",
                "period": 2000,
                "failureThreshold": 3,
            },
        },
    ]
    (folder / "eco.json").write_text(json.dumps({"apps": apps}))
    assert probes_of(folder / "eco.json") == EXPECTED
    yaml = "apps:\n" + "".join(
        f"  - {json.dumps(app)}\n" for app in apps
    )  # YAML flow mappings are JSON
    (folder / "eco.yaml").write_text(yaml)
    assert probes_of(folder / "eco.yaml") == EXPECTED
    (folder / "ecosystem.config.js").write_text(f"module.exports = {json.dumps({'apps': apps})}")
    assert probes_of(folder / "ecosystem.config.js") == EXPECTED


def test_every_knob_with_units_and_the_exec_list_form(folder: Path) -> None:
    probe = {
        "exec": ["test", "-f", "a b"],
        "initial_delay": "1.5s",
        "period": 250,
        "timeout": "2s",
        "success_threshold": 2,
        "failure_threshold": "5",
    }
    got = spec_in(folder, liveness_probe=probe).liveness_probe
    assert got == Probe("exec", "test -f 'a b'", 1500, 250, 2000, 2, 5)


def test_health_check_is_a_readiness_probe(folder: Path) -> None:
    got = spec_in(folder, health_check="http://127.0.0.1:8000/up")
    assert got.readiness_probe == Probe("http", "http://127.0.0.1:8000/up", period=200)
    # Made in code (tests, old dumps) it is the same probe.
    same = AppSpec.from_dict({**got.to_dict(), "readiness_probe": None})
    assert same.readiness_probe == got.readiness_probe


def test_health_check_and_readiness_probe_together_is_an_error(folder: Path) -> None:
    [message] = messages(folder, health_check="http://127.0.0.1:1/", readiness_probe={"tcp": ":1"})
    assert "key 'health_check'" in message and "not both" in message


@pytest.mark.parametrize(
    ("probe", "message"),
    [
        ({"tcp": ":80", "perod": "1s"}, "unknown key 'perod' (did you mean 'period'?)"),
        ({"http": "http://x", "tcp": ":1"}, "needs exactly one of http, tcp or exec"),
        ({"period": "1s"}, "needs exactly one of http, tcp or exec (given: none)"),
        ({"http": "https://x"}, "http: must be an http:// URL"),
        ({"tcp": "nowhere"}, "tcp: expected HOST:PORT"),
        ({"tcp": "h:99999"}, "tcp: 'h:99999': port must be 1-65535"),
        ({"exec": ""}, "exec: must not be empty"),
        ({"exec": "x", "period": "10ms"}, "period: must be at least 100 ms"),
        ({"exec": "x", "timeout": "soon"}, "timeout: not a duration"),
        ({"exec": "x", "failure_threshold": 0}, "failure_threshold: must be at least 1"),
        ("tcp://x:1", "must be a table with one of http, tcp or exec"),
        (3, "must be a table with one of http, tcp or exec"),
    ],
)
def test_mistakes_name_the_app_the_key_and_the_setting(
    folder: Path, probe: object, message: str
) -> None:
    [problem] = messages(folder, name="web", liveness_probe=probe)
    assert problem.startswith("<command line>: app 'web': key 'liveness_probe': ")
    assert message in problem


def test_a_bad_probe_in_a_file_exits_2_naming_file_app_and_key(folder: Path) -> None:
    (folder / "eco.toml").write_text(
        '[[apps]]\nname = "db"\nscript = "app.py"\n'
        'readiness_probe = { exec = "true", failure_threshold = -1 }\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "corral", "config", str(folder / "eco.toml")],
        capture_output=True,
        text=True,
        env={**os.environ, "CORRAL_HOME": str(folder / "home")},
    )
    assert run.returncode == 2
    where = "eco.toml:4:1: app 'db': key 'readiness_probe': "
    assert where + "failure_threshold: must be at least 1, not -1" in run.stderr


def test_the_daemon_checks_probes_a_client_sends(folder: Path) -> None:
    good = spec_in(folder, liveness_probe={"tcp": ":80"}).to_dict()
    assert wire_problems(good) == []
    for bad in ({"kind": "tcp", "target": 5}, {"kind": "exec", "target": "x", "period": 1}, "x"):
        assert wire_problems({**good, "liveness_probe": bad}), bad


def test_corral_config_shows_the_probe_health_check_makes(folder: Path) -> None:
    from corral.cli.config import describe

    (folder / "eco.toml").write_text(
        '[[apps]]\nname = "h"\nscript = "app.py"\nhealth_check = "http://127.0.0.1:9/"\n'
    )
    eco = load_ecosystem(folder / "eco.toml", base_env={"PATH": os.environ["PATH"]})
    [app] = describe(eco, None)["apps"]
    setting = app["settings"]["readiness_probe"]
    assert setting["value"]["target"] == "http://127.0.0.1:9/"
    assert setting["value"]["period"] == 200
    assert setting["from"] == "derived" and "health_check" in setting["detail"]


def test_probes_survive_json_as_dumps_and_rpc_carry_them(folder: Path) -> None:
    from corral.daemon.specs import spec_from_wire

    made = spec_in(folder, readiness_probe={"tcp": ":5432"}, liveness_probe={"exec": "true"})
    carried = json.loads(json.dumps(made.to_dict()))
    assert AppSpec.from_dict(carried) == made
    assert spec_from_wire(carried) == made
