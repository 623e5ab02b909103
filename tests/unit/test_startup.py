"""Boot services: the generated files for each init system, install/uninstall under --root.

Nothing here touches the real /etc: every install goes under a temporary root, and the
commands (systemctl enable, …) are only printed.
"""

from __future__ import annotations

import contextlib
import io
import os
import plistlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from corral.cli.main import main
from corral.persist import startup

PLATFORMS = startup.PLATFORMS


def target(platform: str, tmp_path: Path, **kw: Any) -> startup.Target:
    fields: dict[str, Any] = {
        "platform": platform,
        "user": "alice",
        "user_home": str(tmp_path / "home alice"),  # a space: quoting must hold
        "corral_home": str(tmp_path / "home alice" / ".corral"),
        "service": startup.default_service(platform, "alice"),
        "command": startup.corral_command(),
        "path": startup.service_path("/opt/node 20/bin:/usr/bin"),
    }
    fields.update(kw)
    return startup.Target(**fields)


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_detection_follows_pm2s_order() -> None:
    def having(*tools: str) -> startup.Which:
        return lambda name: f"/bin/{name}" if name in tools else None

    assert startup.detect(having("systemctl", "launchctl", "rc-update")) == "systemd"
    assert startup.detect(having("launchctl", "rc-update")) == "launchd"
    assert startup.detect(having("rc-update")) == "openrc"
    assert startup.detect(having()) == "systemv"
    assert startup.platform_named("ubuntu") == "systemd"
    assert startup.platform_named("macos") == "launchd"
    with pytest.raises(ValueError, match="unknown init system"):
        startup.platform_named("windows")


def test_systemd_unit_is_pm2s_shape(tmp_path: Path) -> None:
    text = startup.systemd_unit(target("systemd", tmp_path))
    home = tmp_path / "home alice" / ".corral"
    for line in (
        "After=network.target",
        "Type=forking",
        "User=alice",
        "Restart=on-failure",
        f'Environment="CORRAL_HOME={home}"',
        f'PIDFile="{home}/daemon.pid"',
        "WantedBy=multi-user.target",
    ):
        assert line in text.splitlines(), line
    corral = " ".join(startup.corral_command())
    assert f"ExecStart={corral} resurrect" in text
    assert f"ExecReload={corral} reload all" in text
    assert f"ExecStop={corral} kill" in text
    online = startup.systemd_unit(target("systemd", tmp_path, wait_ip=True))
    assert "After=network-online.target" in online and "Wants=network-online.target" in online


@pytest.mark.parametrize("wait_ip", [False, True])
def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path, wait_ip: bool) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here; the unit's shape is tested above")
    unit = tmp_path / "corral-alice.service"
    t = target("systemd", tmp_path, user="root", wait_ip=wait_ip)
    unit.write_text(startup.systemd_unit(t))
    run = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "corral-alice.service" not in run.stderr, run.stderr


def test_launchd_plist_parses_and_runs_resurrect(tmp_path: Path) -> None:
    t = target("launchd", tmp_path)
    body = plistlib.loads(startup.launchd_plist(t).encode())
    assert body["Label"] == "corral.alice"
    assert body["ProgramArguments"] == [*t.command, "resurrect"]
    assert body["EnvironmentVariables"]["CORRAL_HOME"] == t.corral_home
    assert body["RunAtLoad"] is True
    plan = startup.plan(t)
    assert plan.dest == f"{t.user_home}/Library/LaunchAgents/corral.alice.plist"
    assert not plan.needs_root


@pytest.mark.parametrize("platform", ["openrc", "systemv"])
def test_init_scripts_are_valid_shell_that_runs_corral_as_the_user(
    tmp_path: Path, platform: str
) -> None:
    t = target(platform, tmp_path)
    text = startup.openrc_script(t) if platform == "openrc" else startup.sysv_script(t)
    script = tmp_path / "script"
    script.write_text(text)
    assert subprocess.run(["sh", "-n", str(script)], capture_output=True).returncode == 0
    if platform == "systemv":
        # Run it for real with a fake `su` and `id`: the command must come out whole.
        fake = tmp_path / "bin"
        fake.mkdir()
        (fake / "id").write_text("#!/bin/sh\necho root\n")
        (fake / "su").write_text('#!/bin/sh\necho "su $*"\n')
        for tool in ("id", "su"):
            (fake / tool).chmod(0o755)
        env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
        run = subprocess.run(["sh", str(script), "start"], capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("su -s /bin/sh -c env CORRAL_HOME=")
        assert f"'{t.corral_home}'" in run.stdout and run.stdout.rstrip().endswith("alice")
        assert " resurrect " in run.stdout


@pytest.mark.parametrize("platform", PLATFORMS)
def test_install_under_root_is_idempotent_and_unstartup_removes_it(
    tmp_path: Path, platform: str
) -> None:
    root = tmp_path / "root"
    args = (platform, "-u", "alice", "--hp", str(tmp_path / "alice"), "--root", str(root))
    code, out, _err = cli("startup", *args)
    assert code == 0
    [written] = [p for p in root.rglob("*") if p.is_file()]
    assert f"wrote {written}" in out and "--root: not running" in out
    first = written.read_bytes()
    code, out, _err = cli("startup", *args)
    assert code == 0 and f"unchanged: {written}" in out
    assert written.read_bytes() == first
    mode = written.stat().st_mode & 0o777
    assert mode == (0o644 if platform in ("systemd", "launchd") else 0o755)
    code, out, _err = cli("unstartup", *args)
    assert code == 0 and f"removed {written}" in out and not written.exists()
    code, out, _err = cli("unstartup", *args)
    assert code == 0 and "nothing to remove" in out


def test_print_shows_file_and_commands_and_changes_nothing(tmp_path: Path) -> None:
    code, out, _err = cli(
        "startup",
        "systemd",
        "--print",
        "-u",
        "alice",
        "--hp",
        str(tmp_path),
        "--service-name",
        "apps",
    )
    assert code == 0
    assert out.startswith("# /etc/systemd/system/apps.service\n")
    assert "ExecStart=" in out and out.rstrip().endswith("systemctl enable apps")
    code, out, _err = cli("unstartup", "systemd", "--print", "--service-name", "apps")
    assert code == 0 and "rm /etc/systemd/system/apps.service" in out


def test_not_root_prints_the_exact_sudo_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("CORRAL_HOME", "/srv/corral")
    code, out, _err = cli("startup", "systemd", "-u", "alice", "--hp", "/home/alice")
    assert code == 1
    line = out.splitlines()[-1]
    assert line.startswith("sudo env PATH=") and "CORRAL_HOME=/srv/corral" in line
    assert line.endswith("startup systemd -u alice --hp /home/alice --service-name corral-alice")


def test_unknown_platform_is_bad_usage() -> None:
    assert cli("startup", "windows", "--print")[0] == 2
