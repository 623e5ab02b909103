"""PM2's ecosystem rules, each checked against pm2 7.0.4 by hand (see docs/config.md).

Log file names, merge_logs/combine_logs, `time` over `log_date_format`, duplicate YAML
keys, missing `--env` profiles, and the environment children inherit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from corral.config import ConfigError, load_ecosystem
from corral.engine.logfiles import log_paths


def load(folder: Path, *apps: dict[str, Any], **kwargs: Any) -> Any:
    path = folder / "e.json"
    path.write_text(json.dumps({"apps": [{"script": "app.py", **app} for app in apps]}))
    return load_ecosystem(path, base_env={}, **kwargs)


# --- log file names -------------------------------------------------------------------


def test_one_cluster_instance_gets_its_id_in_the_file_name_as_pm2(folder: Path) -> None:
    """pm2: instances 1, cluster, out_file nestServer.log -> nestServer-0.log."""
    (spec,) = load(
        folder,
        {"name": "nest", "instances": 1, "exec_mode": "cluster", "out_file": "nestServer.log"},
    ).apps
    assert spec.merge_logs is False
    assert log_paths(spec, 0, "/h").out == str(folder / "nestServer-0.log")


@pytest.mark.parametrize(
    ("fields", "merged"),
    [
        ({}, True),  # fork, no instances: one file
        ({"instances": 2}, False),
        ({"instances": 1}, False),  # given at all: per-process files
        ({"instances": 0}, True),  # PM2 tests `!instances`: 0 and "max" count as absent
        ({"instances": "max"}, True),
        ({"exec_mode": "cluster"}, False),
        ({"instances": 2, "merge_logs": True}, True),
        ({"merge_logs": False}, False),
    ],
)
def test_merge_logs_default_follows_pm2(folder: Path, fields: dict[str, Any], merged: bool) -> None:
    (spec,) = load(folder, {"name": "a", **fields}).apps
    assert spec.merge_logs is merged


def test_time_wins_over_log_date_format_and_says_so(folder: Path) -> None:
    eco = load(folder, {"name": "a", "time": True, "log_date_format": "HH:mm"})
    (spec,) = eco.apps
    assert spec.time is True and spec.log_date_format is None  # the engine uses PM2's format
    [warning] = eco.warnings
    assert warning.app == "a" and warning.key == "log_date_format"


# --- YAML duplicate keys --------------------------------------------------------------


def test_yaml_duplicate_key_is_refused_with_its_line(folder: Path) -> None:
    path = folder / "e.yaml"
    path.write_text("apps:\n  - name: y\n    script: app.py\n    name: z\n")
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(path, base_env={})
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (4, 5)
    assert "duplicate key 'name'" in str(problem) and str(problem).startswith(f"{path}:4:5")


def test_yaml_merge_keys_are_not_duplicates(folder: Path) -> None:
    path = folder / "e.yaml"
    path.write_text(
        "base: &base {script: app.py}\n"
        "apps:\n  - <<: *base\n    name: a\n  - <<: *base\n    name: b\n"
    )
    with pytest.raises(ConfigError) as caught:  # `base` is not a top-level key corral knows
        load_ecosystem(path, base_env={})
    assert all("duplicate" not in p.message for p in caught.value.problems)


# --- --env profiles -------------------------------------------------------------------


def test_a_profile_some_apps_lack_warns_once_per_app(folder: Path) -> None:
    eco = load(
        folder,
        {"name": "a", "env_production": {"X": "1"}},
        {"name": "b"},
        {"name": "c"},
        env_profile="production",
    )
    assert [(w.app, w.key) for w in eco.warnings] == [("b", None), ("c", None)]
    assert all("env_production" in w.message for w in eco.warnings)
    assert eco.apps[0].env["X"] == "1"


def test_a_profile_no_app_has_suggests_the_close_one(folder: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(folder, {"name": "a", "env_prod": {"X": "1"}}, env_profile="production")
    assert "did you mean 'prod'?" in str(caught.value)


# --- overrides from the command line --------------------------------------------------


def test_overrides_apply_to_every_app_and_are_marked_cli(folder: Path) -> None:
    eco = load(
        folder, {"name": "a"}, {"name": "b", "autostart": True}, overrides={"autostart": False}
    )
    assert [spec.autostart for spec in eco.apps] == [False, False]
    assert str(eco.resolved[1].origins["autostart"]) == "cli"


def test_origins_name_file_derived_and_default(folder: Path) -> None:
    eco = load(folder, {"instances": 2, "env": {"A": "1"}})
    origins = eco.resolved[0].origins
    assert str(origins["instances"]) == "file"
    assert origins["name"].kind == "derived" and origins["merge_logs"].kind == "derived"
    assert "kill_timeout" not in origins  # AppSpec's default
    assert eco.resolved[0].env_origins["A"] == "env"


# --- the environment children inherit -------------------------------------------------

PROBE = """
import json, sys
from corral.config import load_ecosystem
(spec,) = load_ecosystem(sys.argv[1]).apps
ours = __import__("os").environ.get("LC_CTYPE")
print(json.dumps({"child": spec.env.get("LC_CTYPE"), "ours": ours}))
"""


@pytest.mark.parametrize("given", [None, "C.UTF-8"])
def test_python_locale_coercion_does_not_leak_into_apps(folder: Path, given: str | None) -> None:
    """With no locale set, Python sets LC_CTYPE=C.UTF-8 for itself (PEP 538); apps get
    exactly the environment the user had: no LC_CTYPE unless the user set one."""
    (folder / "e.json").write_text(json.dumps({"apps": [{"name": "a", "script": "app.py"}]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONCOERCE"))}
    if given is not None:
        env["LC_CTYPE"] = given
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder / "e.json")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(run.stdout)
    assert seen["child"] == given
    if given is None:
        assert seen["ours"] == "C.UTF-8", "Python no longer coerces: this test proves nothing"


def test_flags_get_the_same_warnings(folder: Path) -> None:
    """`corral start app.py --time --log-date-format X`: the CLI prints this warning."""
    from corral.config import Problem, spec_from_mapping

    warnings: list[Problem] = []
    raw = {"script": "app.py", "time": True, "log_date_format": "HH"}
    spec = spec_from_mapping(raw, cwd=str(folder), base_env={}, warnings=warnings)
    assert spec.log_date_format is None
    assert [(w.file, w.key) for w in warnings] == [("<command line>", "log_date_format")]
