"""Hostile config files: each is refused at load time, exit 2, located, and nothing runs.

Every case runs the real CLI (`python -m corral start FILE`) in its own process, with its
address space capped, so a file that would balloon memory fails the test instead of the
machine; then checks that no daemon was started in its private home.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from corral.config import limits
from tests.helpers import SLEEPER, Corral

pytestmark = pytest.mark.timeout(120)

MEMORY_CAP = 1536 * 1024 * 1024
"""Address space of the CLI under test: far above what loading any sane file needs."""
TIME_CAP_S = 60
"""Generous, for a loaded shared machine: a good run takes well under a second."""


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@dataclass(frozen=True)
class Hostile:
    """One hostile file: its name, its text, what the message must name, CLI extras."""

    file: str
    text: Callable[[], str]
    expect: tuple[str, ...]
    extra: tuple[str, ...] = ()


def app(**fields: object) -> dict[str, object]:
    return {"name": "web", "script": "app.py", **fields}


def eco_json(*apps: dict[str, object]) -> Callable[[], str]:
    return lambda: json.dumps({"apps": list(apps)})


def deep_json(depth: int) -> str:
    return '{"apps": [{"name": "web", "script": "app.py", "env": {"A": ' + (
        "[" * depth + "]" * depth + "}}]}"
    )


def alias_bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines += ["apps:", "  - name: web", "    script: app.py", "    env:", "      BOMB: *a9"]
    return "\n".join(lines) + "\n"


def many_apps(count: int) -> str:
    return json.dumps({"apps": [{"name": f"a{i}", "script": "app.py"} for i in range(count)]})


def huge_file() -> str:
    padding = " " * (limits.MAX_FILE_BYTES + 1)
    return '{"apps": [{"name": "web", "script": "app.py"}]}' + padding


def big_env() -> str:
    variables = {f"V{i}": "x" * 1000 for i in range(1100)}  # ~1.1 MB, each var fine alone
    return json.dumps({"apps": [app(env=variables)]})


CASES: dict[str, Hostile] = {
    "env name with =": Hostile("e.json", eco_json(app(env={"A=B": "1"})), ("'web'", "'env'", "=")),
    "env name with NUL": Hostile("e.json", eco_json(app(env={"A\0B": "1"})), ("'web'", "'env'")),
    "empty env name": Hostile("e.json", eco_json(app(env={"": "1"})), ("'web'", "'env'", "empty")),
    "env value with NUL": Hostile(
        "e.json", eco_json(app(env={"A": "x\0y"})), ("'web'", "'env'", "NUL")
    ),
    "profile value with NUL": Hostile(
        "e.json",
        eco_json(app(env_production={"A": "\0"})),
        ("'web'", "'env_production'", "NUL"),
        ("--env", "production"),
    ),
    "args with NUL": Hostile("e.json", eco_json(app(args=["a\0b"])), ("'web'", "'args'", "NUL")),
    "name all": Hostile("e.json", eco_json(app(name="all")), ("'all'", "'name'", "reserved")),
    "numeric name": Hostile("e.json", eco_json(app(name="1")), ("'1'", "'name'", "number")),
    "numeric YAML name": Hostile(
        "e.yaml", lambda: "apps:\n  - name: 42\n    script: app.py\n", ("e.yaml:2", "'name'")
    ),
    "name with a newline": Hostile(
        "e.json",
        eco_json(app(name="web\n2026-12-05 12:00:00 forged")),
        ("'name'", "control character"),
    ),
    "namespace all": Hostile(
        "e.json", eco_json(app(namespace="all")), ("'web'", "'namespace'", "reserved")
    ),
    "10,000-deep JSON": Hostile(
        "e.json", lambda: deep_json(10_000), ("e.json:1:", "nested deeper than")
    ),
    "100-deep JSON": Hostile(
        "e.json", lambda: deep_json(100), ("'web'", "'env'", "nested deeper than")
    ),
    "10,000-deep YAML": Hostile(
        "e.yaml",
        lambda: (
            "apps:\n  - name: web\n    script: app.py\n    env:\n      A: "
            + "[" * 10_000
            + "]" * 10_000
            + "\n"
        ),
        ("e.yaml:5:", "nested deeper than"),
    ),
    "10,000-deep TOML": Hostile(
        "e.toml",
        lambda: '[[apps]]\nname = "web"\nscript = "app.py"\nx = ' + "[" * 10_000 + "]" * 10_000,
        ("e.toml:4:", "nested deeper than"),
    ),
    "YAML alias bomb": Hostile("e.yaml", alias_bomb, ("e.yaml:", "alias", "values")),
    "too many apps": Hostile(
        "e.json", lambda: many_apps(limits.MAX_APPS + 1), ("'apps'", f"{limits.MAX_APPS:,}")
    ),
    "file too large": Hostile("e.json", huge_file, ("e.json", "larger than")),
    "too many instances in all": Hostile(
        "e.json",
        eco_json(*(app(name=f"w{i}", instances=1000) for i in range(5))),
        ("'instances'", f"{limits.MAX_PROCESSES:,}"),
    ),
    "too many instances of one": Hostile(
        "e.json", eco_json(app(instances=limits.MAX_INSTANCES + 1)), ("'web'", "'instances'")
    ),
    "JS file printing too much": Hostile(
        "ecosystem.config.js",
        lambda: (
            'module.exports = {apps: [{name: "web", script: "app.py", '
            'env: {X: "x".repeat(5 * 1024 * 1024)}}]};\n'
        ),
        ("ecosystem.config.js", "larger than"),
    ),
    "environment too large": Hostile("e.json", big_env, ("'web'", "'env'", "KiB")),
    "one variable too large": Hostile(
        "e.json", eco_json(app(env={"BIG": "x" * (200 * 1024)})), ("'web'", "'env'", "BIG")
    ),
}


def run_cli(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corral", *argv],
        cwd=folder,
        env=dict(os.environ, CORRAL_HOME=str(folder / "home")),
        capture_output=True,
        text=True,
        timeout=TIME_CAP_S,
        preexec_fn=_cap_memory,
        check=False,
    )


def assert_no_daemon(home: Path) -> None:
    assert not (home / "daemon.pid").exists(), "a rejected config started a daemon"
    assert not (home / "rpc.sock").exists(), "a daemon socket exists"


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A folder with app.py; a daemon wrongly started there is stopped (apps too) after."""
    (tmp_path / "app.py").write_text("import time\ntime.sleep(60)\n")
    yield tmp_path
    pid_file = tmp_path / "home" / "daemon.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().split()[0])
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)  # the daemon stops its apps, then exits
        deadline = time.monotonic() + 60
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)  # teardown only


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_hostile_config_is_refused_at_load_and_starts_nothing(case: Hostile, folder: Path) -> None:
    if case.file.endswith(".js") and shutil.which("node") is None:
        pytest.skip("node is needed to read a JS ecosystem file")
    (folder / case.file).write_text(case.text())
    run = run_cli(folder, "start", case.file, *case.extra)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert case.file in run.stderr
    for needle in case.expect:
        assert needle in run.stderr, f"{needle!r} not in:\n{run.stderr[-2000:]}"
    assert len(run.stderr) < 20_000, "the message should be short, not the whole input"
    assert_no_daemon(folder / "home")


def test_a_newline_in_a_name_is_shown_escaped(folder: Path) -> None:
    (folder / "e.json").write_text(eco_json(app(name="web\nforged line"))())
    run = run_cli(folder, "start", "e.json")
    assert run.returncode == 2
    assert "forged line" in run.stderr
    assert not any(line.startswith("forged line") for line in run.stderr.splitlines())


def test_a_rejected_script_start_starts_no_daemon(folder: Path) -> None:
    run = run_cli(folder, "start", "app.py", "--name", "all")
    assert run.returncode == 2, run.stderr
    assert "'name'" in run.stderr and "reserved" in run.stderr
    assert_no_daemon(folder / "home")


def test_the_largest_allowed_app_fits_one_protocol_message() -> None:
    from corral.daemon import protocol

    assert limits.MAX_ENV_BYTES + limits.MAX_ARGS_BYTES + 64 * 1024 < protocol.MAX_LINE


def test_a_huge_file_on_stdin_is_refused_unread(folder: Path) -> None:
    """`corral start -` reads at most one byte past the limit, then refuses."""
    run = subprocess.run(
        [sys.executable, "-m", "corral", "start", "-"],
        cwd=folder,
        env=dict(os.environ, CORRAL_HOME=str(folder / "home")),
        input=huge_file(),
        capture_output=True,
        text=True,
        timeout=TIME_CAP_S,
        preexec_fn=_cap_memory,
        check=False,
    )
    assert run.returncode == 2 and "larger than" in run.stderr, run.stderr
    assert_no_daemon(folder / "home")


def test_scale_past_the_instance_limit_is_refused(corral: Corral) -> None:
    corral.ok("start", SLEEPER, "--name", "web")
    code, _out, err = corral("scale", "web", str(limits.MAX_INSTANCES + 1))
    assert code == 2 and f"at most {limits.MAX_INSTANCES}" in err
    code, _out, err = corral("scale", "web", "+999999")
    assert code == 2
    assert len(corral.rows()) == 1
