"""`deploy.<env>` checking, the deploy command line, and the startOrRestart/startOrReload
verbs that post-deploy hooks call (against a real daemon). No ssh here."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from corral.config import ConfigError
from corral.deploy import load_target
from corral.deploy.config import Host, parse_host
from corral.deploy.ssh import ssh_argv
from tests.helpers import SLEEPER, Corral

pytestmark = pytest.mark.timeout(90)

GOOD = """\
[deploy.production]
user = "deploy"
host = ["web1", "web2:2222", "ops@[::1]:22"]
repo = "git@example.com:me/app.git"
ref = "origin/main"
path = "~/apps/web"
"""


def write(folder: Path, text: str, name: str = "corral.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_default_post_deploy_reloads_the_file_as_the_repo_holds_it(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    nested = write(tmp_path / "deploy", GOOD, "eco.toml")
    target = load_target(str(nested), "production")
    assert target.post_deploy == "corral startOrReload deploy/eco.toml --env production"
    assert target.branch == "main" and target.path == "~/apps/web"
    assert [h.label for h in target.hosts] == ["web1", "web2:2222", "ops@[::1]:22"]
    assert target.hosts[2] == Host("ops@[::1]:22", "::1", "ops", 22)


def test_default_post_deploy_outside_a_repo_names_the_bare_file(tmp_path: Path) -> None:
    outside = write(tmp_path / "not-a-repo", GOOD, "my eco.toml")
    target = load_target(str(outside), "production")
    assert target.post_deploy == "corral startOrReload 'my eco.toml' --env production"


def test_every_problem_is_reported_with_file_env_key_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        [deploy.production]
        host = "web1"
        port = "http"
        post_deploy = "corral reload all"
        forward_agent = "yes"
        fetch = "shallow"
        env = { "BAD NAME" = "x" }
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_target(str(path), "production")
    text = str(caught.value)
    file = str(path)
    assert f"{file}:3:1: key 'deploy.production.port': must be a port number" in text
    assert (
        f"{file}:4:1: key 'deploy.production.post_deploy': unknown deploy key "
        "(did you mean 'post-deploy'?)" in text
    )
    assert "key 'deploy.production.forward_agent': must be true or false" in text
    assert "key 'deploy.production.fetch': must be 'fast' (shallow) or 'full'" in text
    assert "'BAD NAME' is not a valid variable name" in text
    for missing in ("repo", "ref", "path"):
        assert f"key 'deploy.production.{missing}': is required" in text
    assert len(caught.value.problems) == 8


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("", "non-empty"),
        ("a b", "one non-empty word"),
        ("@web", "empty user"),
        ("web:http", "bad port"),
        ("web:70000", "out of range"),
        ("[::1", "bracketed"),
    ],
)
def test_bad_host_entries(entry: str, message: str) -> None:
    result = parse_host(entry)
    assert isinstance(result, str) and message in result


def test_ssh_argv_puts_the_config_options_first(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD
        + 'port = 2200\nkey = "~/.ssh/deploy"\nforward-agent = true\nneeds_tty = true\n'
        + 'ssh_options = ["ConnectTimeout=30", "ProxyJump=bastion"]\n',
    )
    target = load_target(str(path), "production")
    argv = ssh_argv(target, target.hosts[1], "true")
    assert argv[:5] == ["ssh", "-o", "ConnectTimeout=30", "-o", "ProxyJump=bastion"]
    assert argv[argv.index("-p") + 1] == "2222"  # the host's own port wins over `port`
    assert argv[argv.index("-i") + 1] == str(Path("~/.ssh/deploy").expanduser())
    assert {"-A", "-tt"} <= set(argv) and argv[-3:] == ["deploy@web2", "--", "true"]
    assert ssh_argv(target, target.hosts[0], "true")[-3] == "deploy@web1"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["production", "revert", "x"], "revert takes a number"),
        (["production", "deploy"], "unknown action 'deploy'"),
        (["production", "ref"], "ref needs one git ref"),
        (["production", "exec"], "exec needs a command"),
        (["production", "list", "extra"], "list takes no argument"),
        (["prod"], "no deploy env 'prod' (did you mean 'production'?)"),
        (["production", "--parallel", "0"], "--parallel must be 1 or more"),
    ],
)
def test_bad_usage_exits_2(corral: Corral, tmp_path: Path, argv: list[str], message: str) -> None:
    path = write(tmp_path, GOOD)
    code, _out, err = corral("deploy", str(path), *argv)
    assert code == 2 and message in err


def test_a_file_without_deploy_section_exits_2(corral: Corral, tmp_path: Path) -> None:
    path = write(tmp_path, f'[[apps]]\nname = "a"\nscript = "{SLEEPER}"\n')
    code, _out, err = corral("deploy", str(path), "production")
    assert code == 2 and "has no deploy section" in err


def test_start_or_restart_and_start_or_reload(corral: Corral, tmp_path: Path) -> None:
    eco = write(
        tmp_path,
        f"""\
        [[apps]]
        name = "web"
        script = "{SLEEPER}"
        env = {{ MODE = "dev" }}
        env_production = {{ MODE = "prod" }}
        """,
    )
    corral.ok("startOrRestart", str(eco), "--env", "production")
    [row] = json.loads(corral.ok("jlist"))
    assert row["status"] == "online" and row["env"]["MODE"] == "prod"
    corral.ok("startOrReload", str(eco))
    [row] = json.loads(corral.ok("jlist"))
    assert row["status"] == "online" and row["restarts"] == 1 and row["env"]["MODE"] == "dev"
    rows = json.loads(corral.ok("startOrRestart", str(eco), "--json"))
    assert [r["name"] for r in rows] == ["web"]
    code, _out, err = corral("startOrReload", str(tmp_path / "missing.toml"))
    assert code == 2 and "no such ecosystem file" in err
