"""PM2's command line as PM2 users type it, against a real daemon and real processes.

Each behaviour here was checked against pm2 7.0.4 (its own PM2_HOME, in a temp folder):
`start -f`, `-x`, `start -`, script paths as targets, `-p FILE`, `init`, `all` with
nothing running, a broken dump, `log_type = "json"`, completion, "did you mean", the
waiting notice of `logs`/`monit --no-ui`, and output into a closed pipe.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from corral.persist import dump
from tests.helpers import APPS, PYTHON, SLEEPER, Corral, gone, wait_until

pytestmark = pytest.mark.timeout(90)
CHATTY = str(APPS / "chatty.py")


def rows(corral: Corral) -> list[dict[str, object]]:
    return list(json.loads(corral.ok("jlist")))


def spec_of(row: dict[str, object]) -> dict[str, object]:
    spec = row["spec"]
    assert isinstance(spec, dict)
    return spec


# ------------------------------------------------------------------ start


def test_force_starts_another_copy_under_the_same_name(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "web")
    corral.ok("start", SLEEPER, "--name", "web", "-f")
    corral.ok("start", SLEEPER, "--name", "web", "--force")
    table = rows(corral)
    assert [(r["id"], r["name"], r["status"]) for r in table] == [
        (0, "web", "online"),
        (1, "web", "online"),
        (2, "web", "online"),
    ]
    assert len({r["pid"] for r in table}) == 3
    assert all(r["restarts"] == 0 for r in table), "the first copy was not restarted"


def test_execute_command_runs_a_node_script_in_fork_mode(corral: Corral, tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: -x only changes how Node scripts run")
    script = tmp_path / "tick.js"
    script.write_text("setInterval(() => {}, 1000);\n")
    # A Node script with `instances` runs in cluster mode (PM2's rule); -x keeps it forked.
    corral.ok("start", str(script), "--name", "cluster", "-i", "2")
    corral.ok("start", str(script), "--name", "forked", "-i", "2", "-x")
    corral.ok("start", str(script), "--name", "forked2", "-i", "2", "--execute-command")
    modes = {r["name"]: r["exec_mode"] for r in rows(corral)}
    assert modes == {"cluster": "cluster", "forked": "fork", "forked2": "fork"}


def test_start_dash_reads_an_ecosystem_from_stdin(
    corral: Corral, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in pm2, relative paths in piped JSON are relative to where the command runs.
    monkeypatch.chdir(APPS)
    config = {"apps": [{"name": "piped", "script": "sleeper.py", "interpreter": PYTHON}]}
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(config)))
    corral.ok("start", "-")
    [row] = rows(corral)
    assert (row["name"], row["status"], spec_of(row)["script"]) == ("piped", "online", SLEEPER)
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(config)))
    corral.ok("stop", "-")
    assert rows(corral)[0]["status"] == "stopped"
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(config)))
    corral.ok("delete", "-")
    assert rows(corral) == []
    toml = f'[[apps]]\nname = "toml"\nscript = "sleeper.py"\ninterpreter = "{PYTHON}"\n'
    monkeypatch.setattr(sys, "stdin", io.StringIO(toml))  # corral's own format works too
    corral.ok("start", "-")
    assert [(r["name"], r["status"]) for r in rows(corral)] == [("toml", "online")]
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"apps": [{"name": "x", "script": 3}]}'))
    code, _out, err = corral("start", "-")
    assert code == 2 and "<stdin>" in err and "script" in err


def test_a_script_path_is_a_target(
    corral: Corral, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corral.ok("start", SLEEPER, "--name", "one")
    corral.ok("start", SLEEPER, "--name", "two")
    corral.ok("start", CHATTY, "--name", "other", "--", "1")
    monkeypatch.chdir(APPS)  # pm2 resolves the path from the shell's folder
    corral.ok("stop", "sleeper.py")
    status = {r["name"]: r["status"] for r in rows(corral)}
    assert status == {"one": "stopped", "two": "stopped", "other": "online"}
    corral.ok("restart", "./sleeper.py")
    status = {r["name"]: r["status"] for r in rows(corral)}
    assert status == {"one": "online", "two": "online", "other": "online"}
    corral.ok("restart", "./sleeper.py")  # they were stopped before: only now a restart
    assert {r["name"]: r["restarts"] for r in rows(corral)} == {"one": 1, "two": 1, "other": 0}
    corral.ok("reload", SLEEPER)
    corral.ok("delete", "sleeper.py")
    assert [r["name"] for r in rows(corral)] == ["other"]
    monkeypatch.chdir(tmp_path)  # from elsewhere the same relative path names nothing
    code, _out, err = corral("stop", "chatty.py")
    assert code == 1 and "chatty.py" in err


def test_pid_file_is_written_on_start_and_removed_on_stop(corral: Corral, tmp_path: Path) -> None:
    tmp_path = tmp_path / "pids"
    tmp_path.mkdir()
    corral.ok("start", SLEEPER, "--name", "web", "-p", str(tmp_path / "web.pid"), "-i", "2")
    corral.ok("start", SLEEPER, "--name", "api", "--pid", str(tmp_path / "api"))
    first = {str(r["name"]) + str(r["id"]): r["pid"] for r in rows(corral)}
    # pm2's names: FILE.pid becomes FILE-<id>.pid, one per process
    assert (tmp_path / "web-0.pid").read_text().strip() == str(first["web0"])
    assert (tmp_path / "web-1.pid").read_text().strip() == str(first["web1"])
    assert (tmp_path / "api").read_text().strip() == str(first["api2"])
    corral.ok("stop", "web")
    assert not (tmp_path / "web-0.pid").exists() and not (tmp_path / "web-1.pid").exists()
    corral.ok("start", "web")
    wait_until(lambda: (tmp_path / "web-0.pid").exists(), what="the pid file again")
    now = {r["id"]: r["pid"] for r in rows(corral)}
    assert (tmp_path / "web-0.pid").read_text().strip() == str(now[0])
    corral.ok("signal", "SIGKILL", "api")  # a crash: the restart writes the new pid
    wait_until(lambda: rows(corral)[2]["pid"] not in (None, first["api2"]), what="a restart")
    wait_until(
        lambda: (tmp_path / "api").read_text().strip() == str(rows(corral)[2]["pid"]),
        what="the new pid in the file",
    )
    corral.ok("delete", "all")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_init_writes_a_starter_file_that_starts(
    corral: Corral, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = corral.ok("init")
    starter = tmp_path / "ecosystem.toml"
    assert str(starter) in out and starter.exists()
    text = starter.read_text()
    code, _out, err = corral("ecosystem")
    assert code == 1 and "--force" in err and starter.read_text() == text, "never overwritten"
    shutil.copy(SLEEPER, tmp_path / "app.py")
    corral.ok("start")  # no target: the starter is found and started
    [row] = rows(corral)
    assert (row["name"], row["status"]) == ("app", "online")
    corral.ok("init", "--format", "json")
    data = json.loads((tmp_path / "ecosystem.json").read_text())
    assert data["apps"][0]["script"] == "app.py"
    corral.ok("init", "simple", "--force")
    assert len(starter.read_text()) < len(text)


# ------------------------------------------------------------- exit codes


def test_all_with_nothing_running_exits_1(corral: Corral) -> None:
    for verb in ("stop", "restart", "reload", "delete"):
        code, _out, err = corral(verb, "all")
        assert code == 1 and "no process" in err, (verb, err)
    corral.ok("reset", "all")  # as pm2: resetting nothing is no failure
    corral.ok("start", SLEEPER, "--name", "web")
    corral.ok("stop", "all")


def test_an_unknown_verb_or_app_gets_did_you_mean(corral: Corral) -> None:
    code, _out, err = corral("stpo", "web")
    assert code == 2 and "did you mean 'stop'" in err
    assert "startOrGracefulReload" not in err, "not argparse's whole list"
    code, _out, err = corral("frobnicate")
    assert code == 2 and "unknown verb 'frobnicate'" in err and "corral --help" in err
    corral.ok("start", SLEEPER, "--name", "worker")
    for argv in (
        ("stop", "wroker"),
        ("describe", "workr"),
        ("logs", "wroker", "--nostream"),
        ("scale", "wroker", "2"),
        ("env", "worke"),
    ):
        code, out, err = corral(*argv)
        assert code == 1 and "did you mean 'worker'" in err, (argv, err)
        assert out == ""
    assert rows(corral)[0]["status"] == "online"


# --------------------------------------------------------------- persist


def test_a_broken_dump_is_moved_aside_and_the_backup_used(corral: Corral) -> None:
    Path(corral.root).mkdir(mode=0o700)
    Path(corral.root, "corral.toml").write_text("autosave = false\n")
    spec = {"name": "a", "script": SLEEPER, "interpreter": PYTHON, "cwd": str(APPS)}
    good = dump.encode([dump.Entry("a", "online", spec, 0)])
    Path(corral.root, "dump.json.bak").write_bytes(good)
    Path(corral.root, "dump.json").write_bytes(b"garbage{")
    code, out, err = corral("resurrect")
    assert code == 0, err
    assert "1 processes restored" in out
    [aside] = Path(corral.root).glob("dump.json.broken-*")
    assert re.fullmatch(r"dump\.json\.broken-\d{8}-\d{6}", aside.name), aside.name
    assert aside.read_bytes() == b"garbage{", "the user's data is kept"
    assert not Path(corral.root, "dump.json").exists()
    assert "not valid JSON" in err and str(aside) in err and "dump.json.bak" in err
    assert Path(corral.root, "dump.json.bak").read_bytes() == good


# ------------------------------------------------------------------- logs


def test_json_log_lines_are_compact(corral: Corral) -> None:
    corral.ok("start", CHATTY, "--name", "c", "--log-type", "json", "--", "11")
    err_log = Path(corral.root, "logs", "c-error.log")
    wait_until(lambda: err_log.exists() and b"err 10" in err_log.read_bytes(), what="err 10")
    line = err_log.read_text().splitlines()[0]
    assert line.startswith('{"message":"err 0","timestamp":"'), line
    assert '"type":"err"' in line and '"app_name":"c"' in line and ": " not in line


def _first_stderr_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    return proc.stderr.readline()


def test_logs_and_monit_text_say_they_wait_when_there_is_nothing(corral: Corral) -> None:
    corral.ok("ping")
    for argv in (("logs",), ("monit", "--no-ui")):
        proc = corral.spawn(*argv)
        try:
            line = _first_stderr_line(proc)  # blocks until the notice (or exit: then "")
            assert "no process yet" in line and "waiting" in line, (argv, line)
            assert proc.poll() is None, "still running: it waits"
        finally:
            proc.terminate()
            proc.wait(10)


def test_output_into_a_closed_pipe_is_no_traceback(corral: Corral, tmp_path: Path) -> None:
    corral.ok("start", SLEEPER, "--name", "web")
    env = dict(os.environ, CORRAL_HOME=corral.root)
    for argv in (
        ("startup", "launchd", "--print", "--root", str(tmp_path)),
        ("list",),
        ("jlist",),
        ("describe", "web"),
        ("completion", "bash"),
        ("--help",),
    ):
        # The read end is closed before the child writes: every write is a broken pipe.
        read, write = os.pipe()
        os.close(read)
        try:
            done = subprocess.run(
                [PYTHON, "-m", "corral", *argv],
                stdout=write,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                timeout=30,
            )
        finally:
            os.close(write)
        assert "Traceback" not in done.stderr and "Exception" not in done.stderr, done.stderr
        # 141 as for any program killed by SIGPIPE; argparse's own --help ignores the error.
        assert done.returncode == (0 if argv == ("--help",) else 141), (argv, done.returncode)


def test_logs_help_is_written_for_users() -> None:
    done = subprocess.run(
        [PYTHON, "-m", "corral", "logs", "--help"], capture_output=True, text=True, check=True
    )
    assert "Provides" not in done.stdout and "`" not in done.stdout
    assert "Show the last lines" in done.stdout


# -------------------------------------------------------------- completion


def _bash_complete(words: list[str], tmp_path: Path, env: dict[str, str]) -> list[str]:
    script = subprocess.run(
        [PYTHON, "-m", "corral", "completion", "bash"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    (tmp_path / "corral.bash").write_text(script)
    line = " ".join(words)
    probe = textwrap.dedent(f"""
        source {tmp_path / "corral.bash"}
        COMP_WORDS=({line})
        COMP_CWORD={len(words) - 1}
        COMP_LINE="{line}"
        COMP_POINT=${{#COMP_LINE}}
        _corral
        printf '%s\\n' "${{COMPREPLY[@]}}"
        """)
    done = subprocess.run(
        ["bash", "-c", probe], capture_output=True, text=True, check=True, env=env, timeout=30
    )
    return done.stdout.split()


def test_bash_completion_of_verbs_flags_and_app_names(corral: Corral, tmp_path: Path) -> None:
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "corral").write_text(f'#!/bin/sh\nexec {PYTHON} -m corral "$@"\n')
    (shim / "corral").chmod(0o755)
    env = dict(os.environ, CORRAL_HOME=corral.root, PATH=f"{shim}:{os.environ['PATH']}")
    verbs = set(_bash_complete(["corral", "sta"], tmp_path, env))
    assert {"start", "startup", "status", "startOrReload"} <= verbs
    assert all(verb.startswith("sta") for verb in verbs)
    assert "--max-memory-restart" in _bash_complete(["corral", "start", "--max-m"], tmp_path, env)
    assert _bash_complete(["corral", "stop", "w"], tmp_path, env) == [], "no daemon: no names"
    assert gone(corral.home.daemon_pid() or 0), "completion never starts a daemon"
    corral.ok("start", SLEEPER, "--name", "web")
    corral.ok("start", SLEEPER, "--name", "worker")
    assert _bash_complete(["corral", "stop", "w"], tmp_path, env) == ["web", "worker"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_completion_scripts_parse(shell: str, tmp_path: Path) -> None:
    text = subprocess.run(
        [PYTHON, "-m", "corral", "completion", shell], capture_output=True, text=True, check=True
    ).stdout
    assert "start" in text and "max-memory-restart" in text and "completion names" in text
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed here: only the script's content is checked")
    path = tmp_path / f"corral.{shell}"
    path.write_text(text)
    check = ["zsh", "-n", str(path)] if shell == "zsh" else ["fish", "--no-execute", str(path)]
    subprocess.run(check, check=True, timeout=30)
