"""Tests for attribute names, aliases, coercions and problem reporting."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from corral.config import ConfigError, Problem, load_ecosystem, spec_from_mapping
from corral.config.coerce import LOG_FILE_DEFAULT
from corral.config.schema import IGNORED, camel_case
from tests.helpers import spec_in


def problems(folder: Path, **raw: Any) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        spec_in(folder, **raw)
    return caught.value.problems


@pytest.mark.parametrize("alias", ["cmd", "command", "exec"])
def test_script_aliases(folder: Path, alias: str) -> None:
    app = spec_from_mapping({alias: "app.py"}, cwd=str(folder), base_env={})
    assert app.script == str(folder / "app.py")


@pytest.mark.parametrize(
    ("written", "field", "value", "expected"),
    [
        ("node_args", "interpreter_args", "-X dev", ("-X", "dev")),
        ("interpreterArgs", "interpreter_args", ["-u"], ("-u",)),
        ("out", "out_file", "o.log", "o.log"),
        ("output", "out_file", "o.log", "o.log"),
        ("out_log", "out_file", "o.log", "o.log"),
        ("error", "error_file", "e.log", "e.log"),
        ("err", "error_file", "e.log", "e.log"),
        ("err_file", "error_file", "e.log", "e.log"),
        ("err_log", "error_file", "e.log", "e.log"),
        ("log", "log_file", "c.log", "c.log"),
        ("combine_logs", "merge_logs", True, True),
        ("combineLogs", "merge_logs", False, False),
        ("cron", "cron_restart", "0 4 * * *", "0 4 * * *"),
        ("maxMemoryRestart", "max_memory_restart", "200M", 200 * 1024**2),
        ("minUptime", "min_uptime", "2s", 2000),
        ("maxRestarts", "max_restarts", "3", 3),
        ("restartDelay", "restart_delay", 50, 50),
        ("expBackoffRestartDelay", "exp_backoff_restart_delay", "100ms", 100),
        ("stopExitCodes", "stop_exit_codes", [0, "3"], (0, 3)),
        ("killTimeout", "kill_timeout", "3s", 3000),
        ("killSignal", "kill_signal", "term", "SIGTERM"),
        ("ignoreWatch", "ignore_watch", "node_modules", ("node_modules",)),
        ("watchDelay", "watch_delay", "1s", 1000),
        ("cronRestart", "cron_restart", "*/2 * * * * *", "*/2 * * * * *"),
        ("logDateFormat", "log_date_format", "YYYY", "YYYY"),
        ("logType", "log_type", "JSON", "json"),
        ("instanceVar", "instance_var", "INSTANCE_ID", "INSTANCE_ID"),
        ("incrementVar", "increment_var", "PORT", "PORT"),
        ("execMode", "exec_mode", "cluster_mode", "cluster"),
    ],
)
def test_aliases_and_camel_case(
    folder: Path, written: str, field: str, value: object, expected: object
) -> None:
    got = getattr(spec_in(folder, **{written: value}), field)
    if field in ("out_file", "error_file", "log_file"):
        expected = str(folder / str(expected))
    assert got == expected


def test_exec_interpreter_alias(folder: Path) -> None:
    assert spec_in(folder, exec_interpreter="none").interpreter is None


@pytest.mark.parametrize(
    ("key", "value", "field", "expected"),
    [
        ("args", "--port 8080 'a b'", "args", ("--port", "8080", "a b")),
        ("args", ["--n", 3], "args", ("--n", "3")),
        ("stop_exit_codes", 3, "stop_exit_codes", (3,)),
        ("stop_exit_codes", "3", "stop_exit_codes", (3,)),
        ("max_restarts", "5", "max_restarts", 5),
        ("autorestart", "false", "autorestart", False),
        ("exec_mode", "fork_mode", "exec_mode", "fork"),
        ("kill_signal", 15, "kill_signal", "SIGTERM"),
        ("kill_signal", "SIGHUP", "kill_signal", "SIGHUP"),
        ("kill_signal", "9", "kill_signal", "SIGKILL"),
        ("cron_restart", 0, "cron_restart", None),
        ("cron_restart", "0", "cron_restart", None),
        ("cron_restart", "@daily", "cron_restart", "@daily"),
        ("out_file", "NULL", "out_file", "/dev/null"),
        ("log_file", True, "log_file", LOG_FILE_DEFAULT),
        ("log_file", False, "log_file", None),
        ("max_memory_restart", 0, "max_memory_restart", None),
        ("instances", 3, "instances", 3),
        ("instances", "2", "instances", 2),
        ("namespace", "web", "namespace", "web"),
        ("name", 12.5, "name", "12.5"),
    ],
)
def test_coercions(folder: Path, key: str, value: object, field: str, expected: object) -> None:
    assert getattr(spec_in(folder, **{key: value}), field) == expected


@pytest.mark.parametrize("value", [0, "max", "MAX", -1])
def test_instances_by_cpu(folder: Path, value: object) -> None:
    cpus = os.cpu_count() or 1
    if value == -1 and cpus == 1:
        pytest.skip("-1 leaves no instance on one CPU")
    got = spec_in(folder, instances=value).instances
    assert got == (cpus + value if isinstance(value, int) and value < 0 else cpus)


@pytest.mark.parametrize(
    ("value", "message"), [(-100, "leaves no instance"), (1025, "at most 1024")]
)
def test_impossible_instance_counts_are_errors(folder: Path, value: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        spec_in(folder, instances=value)


def test_defaults(folder: Path) -> None:
    app = spec_in(folder)
    assert app.name == "app"
    assert app.namespace == "default"
    assert app.merge_logs is True  # PM2: no instances given, one file
    assert app.instances == 1
    assert app.exec_mode == "fork"
    assert app.cwd == str(folder)
    assert app.source is None


def test_time_without_format(folder: Path) -> None:
    app = spec_in(folder, time=True)
    assert app.time is True
    assert app.log_date_format is None


def test_watch_paths_are_absolute(folder: Path) -> None:
    (folder / "src").mkdir()
    assert spec_in(folder, watch=True).watch is True
    assert spec_in(folder, watch=[]).watch is True
    assert spec_in(folder, watch="src").watch == (str(folder / "src"),)
    assert spec_in(folder, watch=["src", "/etc/x"]).watch == (str(folder / "src"), "/etc/x")


def test_disable_logs(folder: Path) -> None:
    app = spec_in(folder, disable_logs=True, log_file=True)
    assert (app.out_file, app.error_file, app.log_file) == ("/dev/null", "/dev/null", None)


def test_ignored_pm2_keys_are_silent(folder: Path) -> None:
    raw = {key: True for key in IGNORED} | {camel_case("wait_ready"): True}
    assert spec_in(folder, **raw).name == "app"


def test_unknown_key_suggests(folder: Path) -> None:
    (found,) = problems(folder, name="api", max_memory_restrat="1G")
    assert str(found) == (
        "<command line>: app 'api': key 'max_memory_restrat': unknown key "
        "(did you mean 'max_memory_restart'?)"
    )


def test_unknown_key_without_suggestion(folder: Path) -> None:
    (found,) = problems(folder, zzzzqqq=1)
    assert found.message == "unknown key"


def test_unsupported_key(folder: Path) -> None:
    (found,) = problems(folder, uid=0)
    assert found.key == "uid"
    assert "not supported" in found.message


def test_alias_given_twice_with_different_values(folder: Path) -> None:
    found = problems(folder, cmd="other.py")
    assert len([p for p in found if "given twice" in p.message]) == 1


def test_alias_given_twice_with_the_same_value_is_accepted(folder: Path) -> None:
    assert spec_in(folder, cmd="app.py").script == str(folder / "app.py")


@pytest.mark.parametrize(
    ("merge", "combine", "expected"),
    [(True, True, True), (False, True, True), (True, False, True), (False, False, False)],
)
def test_merge_logs_and_combine_logs_together_as_pm2(
    folder: Path, merge: bool, combine: bool, expected: bool
) -> None:
    """PM2 reads `merge_logs || combine_logs`; both given is not an error there."""
    app = spec_in(folder, merge_logs=merge, combine_logs=combine, instances=2)
    assert app.merge_logs is expected


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_memory_restart", "3Q", "not a memory size: '3Q' (use bytes or K/M/G)"),
        ("min_uptime", "soon", "not a duration"),
        ("max_restarts", -1, "must be 0 or more"),
        ("kill_timeout", -5, "not a duration"),
        ("instances", "many", 'must be a number or "max"'),
        ("exec_mode", "thread", 'must be "fork" or "cluster"'),
        ("log_type", "xml", 'must be "raw" or "json"'),
        ("kill_signal", "SIGNOPE", "not a signal"),
        ("cron_restart", "every day", "not a cron pattern"),
        ("stop_exit_codes", [1, 300], "exit codes are 0-255"),
        ("args", "'unbalanced", "cannot split"),
        ("env", ["A=1"], "must be a table/object"),
        ("autorestart", "sometimes", "must be true or false"),
        ("port", 70000, "port number"),
        ("name", "", "must not be empty"),
        ("ignore_watch", [{"a": 1}], "must hold only strings"),
    ],
)
def test_bad_values(folder: Path, key: str, value: object, message: str) -> None:
    (found,) = problems(folder, **{key: value})
    assert found.key == key
    assert message in found.message


def test_every_problem_reported_at_once(folder: Path) -> None:
    path = folder / "ecosystem.toml"
    path.write_text(
        "[[apps]]\n"
        'name = "api"\n'
        'script = "app.py"\n'
        'max_memory_restart = "3Q"\n'
        "max_restrats = 3\n"
        "\n"
        "[[apps]]\n"
        'name = "worker"\n'
        'script = "missing.py"\n'
        'kill_signal = "NOPE"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(path, base_env={"PATH": os.environ["PATH"]})
    lines = str(caught.value).splitlines()
    assert lines == [
        f"{path}:4:1: app 'api': key 'max_memory_restart': "
        "not a memory size: '3Q' (use bytes or K/M/G)",
        f"{path}:5:1: app 'api': key 'max_restrats': unknown key (did you mean 'max_restarts'?)",
        f"{path}:9:1: app 'worker': key 'script': script not found: {folder / 'missing.py'}",
        f"{path}:10:1: app 'worker': key 'kill_signal': not a signal: 'NOPE'",
    ]


def test_yaml_key_positions(folder: Path) -> None:
    path = folder / "ecosystem.yaml"
    path.write_text("apps:\n  - name: api\n    script: app.py\n    instancs: 2\n")
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(path, base_env={})
    (found,) = caught.value.problems
    assert (found.line, found.column, found.app, found.key) == (4, 5, "api", "instancs")


def test_problem_str_forms() -> None:
    assert str(Problem("e.toml", "api", "watch", "bad", 12, 5)) == (
        "e.toml:12:5: app 'api': key 'watch': bad"
    )
    assert str(Problem("e.toml", None, None, "bad", 3)) == "e.toml:3: bad"
    assert str(Problem(None, None, None, "bad")) == "bad"
    error = ConfigError([Problem("a", None, None, "x"), Problem("b", None, None, "y")])
    assert str(error) == "a: x\nb: y"


def test_log_paths_resolve_against_cwd(folder: Path) -> None:
    app = spec_in(folder, out_file="true", error_file="~/e.log", log_file="logs/all.log")
    assert app.out_file == str(folder / "true")
    assert app.error_file == os.path.expanduser("~/e.log")
    assert app.log_file == str(folder / "logs" / "all.log")
