"""Tests for resolution: cwd, script, interpreter, name, env layering, profiles, `only`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from corral.config import AppSpec, ConfigError, Ecosystem, load_ecosystem, spec_from_mapping


def fake_bin(folder: Path, *programs: str) -> str:
    """A PATH holding only empty executables with these names."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    for program in programs:
        exe = bin_dir / program
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    return str(bin_dir)


def one(raw: dict[str, object], folder: Path, **kwargs: Any) -> AppSpec:
    return spec_from_mapping(raw, cwd=str(folder), **kwargs)


def messages(raw: dict[str, object], folder: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        one(raw, folder, **kwargs)
    return [p.message for p in caught.value.problems]


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


# --- cwd and script -------------------------------------------------------------------


def test_relative_cwd_is_against_the_file_folder(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "run.py").write_text("")
    path = write_json(tmp_path / "e.json", {"apps": [{"script": "run.py", "cwd": "svc"}]})
    (app,) = load_ecosystem(path, base_env={}).apps
    assert app.cwd == str(tmp_path / "svc")
    assert app.script == str(tmp_path / "svc" / "run.py")


def test_missing_cwd(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    assert messages({"script": "a.py", "cwd": "nope"}, tmp_path, base_env={}) == [
        f"cwd not found: {tmp_path / 'nope'}"
    ]


def test_script_not_found_names_the_path(tmp_path: Path) -> None:
    assert messages({"script": "lib/missing.py"}, tmp_path, base_env={}) == [
        f"script not found: {tmp_path / 'lib' / 'missing.py'}"
    ]


def test_script_required(tmp_path: Path) -> None:
    assert messages({"name": "x"}, tmp_path, base_env={}) == [
        "script is required (the program to run)"
    ]


def test_script_on_path(tmp_path: Path) -> None:
    path_env = fake_bin(tmp_path, "redis-server")
    app = one(
        {"script": "redis-server", "args": "--port 7000"}, tmp_path, base_env={"PATH": path_env}
    )
    assert app.script == str(Path(path_env) / "redis-server")
    assert app.interpreter is None
    assert app.name == "redis-server"
    assert app.args == ("--port", "7000")


def test_script_not_on_path(tmp_path: Path) -> None:
    found = messages({"script": "redis-server"}, tmp_path, base_env={"PATH": fake_bin(tmp_path)})
    assert found == [f"script not found: {tmp_path / 'redis-server'} (nor 'redis-server' on PATH)"]


def test_command_string_runs_with_bash(tmp_path: Path) -> None:
    path_env = fake_bin(tmp_path, "bash")
    app = one({"script": "python3 -m http.server 8000"}, tmp_path, base_env={"PATH": path_env})
    assert app.script == str(Path(path_env) / "bash")
    assert app.args == ("-c", "python3 -m http.server 8000")
    assert app.interpreter is None
    assert app.name == "python3 -m http.server 8000"


def test_command_string_refuses_args(tmp_path: Path) -> None:
    found = messages({"script": "sleep 10", "args": ["1"]}, tmp_path, base_env={})
    assert found == ["cannot be used with a command string as script"]


def test_existing_file_with_a_space_is_a_script(tmp_path: Path) -> None:
    (tmp_path / "my app.py").write_text("")
    app = one({"script": "my app.py"}, tmp_path, base_env={})
    assert app.script == str(tmp_path / "my app.py")
    assert app.name == "my app"


def test_name_default_strips_last_extension(tmp_path: Path) -> None:
    (tmp_path / "server.prod.py").write_text("")
    assert one({"script": "server.prod.py"}, tmp_path, base_env={}).name == "server.prod"


# --- interpreter ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "programs", "expected"),
    [
        ("a.js", ("node",), "node"),
        ("a.cjs", ("node",), "node"),
        ("a.mjs", ("node",), "node"),
        ("a.sh", ("bash",), "bash"),
        ("a.rb", ("ruby",), "ruby"),
        ("a.pl", ("perl",), "perl"),
        ("a.php", ("php",), "php"),
        ("a.ts", ("bun", "node"), "bun"),
        ("a.ts", ("node",), "node"),
    ],
)
def test_interpreter_by_extension(
    tmp_path: Path, script: str, programs: tuple[str, ...], expected: str
) -> None:
    (tmp_path / script).write_text("")
    path_env = fake_bin(tmp_path, *programs)
    app = one({"script": script}, tmp_path, base_env={"PATH": path_env})
    assert app.interpreter == str(Path(path_env) / expected)
    assert "PYTHONUNBUFFERED" not in app.env


def test_python_runs_with_this_python_unbuffered(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    app = one({"script": "a.py"}, tmp_path, base_env={})
    assert app.interpreter == sys.executable
    assert app.env == {"PYTHONUNBUFFERED": "1"}


def test_python_interpreter_by_name_is_unbuffered(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("")
    path_env = fake_bin(tmp_path, "python3.12")
    app = one(
        {"script": "a.txt", "interpreter": "python3.12"}, tmp_path, base_env={"PATH": path_env}
    )
    assert app.interpreter == str(Path(path_env) / "python3.12")
    assert app.env["PYTHONUNBUFFERED"] == "1"


def test_missing_interpreter_for_extension(tmp_path: Path) -> None:
    (tmp_path / "a.rb").write_text("")
    with pytest.raises(ConfigError) as caught:
        one({"name": "r", "script": "a.rb"}, tmp_path, base_env={"PATH": fake_bin(tmp_path)})
    (problem,) = caught.value.problems
    assert (problem.app, problem.key) == ("r", "interpreter")
    assert "'ruby'" in problem.message


def test_missing_explicit_interpreter(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    found = messages({"script": "a.py", "interpreter": "pypy9"}, tmp_path, base_env={"PATH": ""})
    assert found == ["interpreter 'pypy9' not found on PATH"]


def test_interpreter_none_and_binaries(tmp_path: Path) -> None:
    binary = tmp_path / "server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    assert one({"script": "./server"}, tmp_path, base_env={}).interpreter is None
    (tmp_path / "a.py").write_text("")
    assert one({"script": "a.py", "interpreter": "none"}, tmp_path, base_env={}).interpreter is None


def test_non_executable_without_extension(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("")
    assert "not executable" in messages({"script": "./data"}, tmp_path, base_env={})[0]


# --- env ------------------------------------------------------------------------------


def test_env_layering(tmp_path: Path) -> None:
    (tmp_path / "a.sh").write_text("")
    path_env = fake_bin(tmp_path, "bash")
    data = {
        "apps": [
            {
                "script": "a.sh",
                "port": 9000,
                "env": {"A": "env", "B": "env", "C": 1, "D": True, "E": {"k": [1]}, "F": None},
                "env_production": {"B": "profile", "PORT": "1"},
            }
        ],
        "deploy": {"production": {"env": {"A": "deploy", "G": "deploy"}}},
    }
    path = write_json(tmp_path / "e.json", data)
    base = {"PATH": path_env, "A": "base", "F": "base", "H": "base"}
    (app,) = load_ecosystem(path, base_env=base, env_profile="production").apps
    assert app.env == {
        "PATH": path_env,
        "A": "env",
        "B": "profile",
        "C": "1",
        "D": "true",
        "E": '{"k":[1]}',
        "G": "deploy",
        "H": "base",
        "PORT": "9000",
    }
    (plain,) = load_ecosystem(path, base_env=base).apps
    assert (plain.env["A"], plain.env["B"], "G" in plain.env) == ("env", "env", False)


def test_filter_env(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    base = {"AWS_KEY": "1", "AWS_SECRET": "2", "HOME": "/h", "AWS": "3"}
    drop_all = one({"script": "a.py", "filter_env": True}, tmp_path, base_env=base)
    assert drop_all.env == {"PYTHONUNBUFFERED": "1"}
    drop_some = one({"script": "a.py", "filter_env": ["AWS_"]}, tmp_path, base_env=base)
    assert set(drop_some.env) == {"HOME", "AWS", "PYTHONUNBUFFERED"}
    drop_one = one({"script": "a.py", "filter_env": "AWS"}, tmp_path, base_env=base)
    assert set(drop_one.env) == {"AWS_KEY", "AWS_SECRET", "HOME", "PYTHONUNBUFFERED"}


def test_base_env_defaults_to_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_TEST_VAR", "yes")
    (tmp_path / "a.py").write_text("")
    assert one({"script": "a.py"}, tmp_path).env["CORRAL_TEST_VAR"] == "yes"


def test_unknown_profile(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    path = write_json(tmp_path / "e.json", {"apps": [{"script": "a.py", "env_production": {}}]})
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(path, base_env={}, env_profile="prod")
    (problem,) = caught.value.problems
    assert problem.message == "unknown env profile 'prod' (did you mean 'production'?)"


def test_profile_defined_by_one_app_or_by_deploy(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    apps = [
        {"name": "x", "script": "a.py", "env_staging": {"S": 1}},
        {"name": "y", "script": "a.py"},
    ]
    path = write_json(tmp_path / "e.json", {"apps": apps, "deploy": {"qa": {}}})
    assert [
        a.env.get("S") for a in load_ecosystem(path, base_env={}, env_profile="staging").apps
    ] == [
        "1",
        None,
    ]
    assert len(load_ecosystem(path, base_env={}, env_profile="qa").apps) == 2


def test_spec_from_mapping_unknown_profile(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    assert messages({"script": "a.py"}, tmp_path, base_env={}, env_profile="prod") == [
        "unknown env profile 'prod'"
    ]


def test_append_env_to_name(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    raw = {"script": "a.py", "append_env_to_name": True, "env_production": {}}
    assert one(raw, tmp_path, base_env={}, env_profile="production").name == "a-production"


# --- selection and names --------------------------------------------------------------


@pytest.fixture
def three(tmp_path: Path) -> Path:
    (tmp_path / "a.py").write_text("")
    apps = [{"name": n, "script": "a.py"} for n in ("web", "worker", "cron")]
    return write_json(tmp_path / "e.json", {"apps": apps})


def names(eco: Ecosystem) -> list[str]:
    return [a.name for a in eco.apps]


def test_only(three: Path) -> None:
    assert names(load_ecosystem(three, base_env={}, only=["cron", "web"])) == ["web", "cron"]


def test_only_unknown_name(three: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(three, base_env={}, only=["web", "wroker"])
    (problem,) = caught.value.problems
    assert problem.message == "no app named 'wroker' in this file (did you mean 'worker'?)"


def test_only_skips_broken_apps_not_asked_for(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    apps = [{"name": "ok", "script": "a.py"}, {"name": "broken", "script": "gone.py"}]
    path = write_json(tmp_path / "e.json", {"apps": apps})
    assert names(load_ecosystem(path, base_env={}, only=["ok"])) == ["ok"]


def test_duplicate_names(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    path = tmp_path / "e.toml"
    path.write_text('[[apps]]\nscript = "a.py"\n\n[[apps]]\nname = "a"\nscript = "a.py"\n')
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(path, base_env={})
    assert str(caught.value) == (
        f"{path}:5:1: app 'a': key 'name': duplicate app name 'a' (app #1 has it too)"
    )


def test_app_must_be_a_table(tmp_path: Path) -> None:
    path = write_json(tmp_path / "e.json", {"apps": ["a.py"]})
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(path, base_env={})
    assert str(caught.value) == f"{path}: app '#1': an app must be a table/object, not a string"


def test_spec_from_mapping_source_and_label(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    app = one({"script": "a.py"}, tmp_path, base_env={}, source="/x/e.toml")
    assert app.source == "/x/e.toml"
    with pytest.raises(ConfigError) as caught:
        one({"script": "a.py", "watch": 3}, tmp_path, base_env={}, file_label="flags")
    assert str(caught.value).startswith("flags: app 'a': key 'watch': ")


def test_spec_round_trips_through_dict(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    app = one({"script": "a.py", "watch": ["."], "args": "x y"}, tmp_path, base_env={"K": "v"})
    assert AppSpec.from_dict(json.loads(json.dumps(app.to_dict()))) == app
