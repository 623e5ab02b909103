"""`corral deploy` against a real sshd on 127.0.0.1 and a local bare repository as origin.

The deploy target is a folder under the test's tmp path on this same machine, reached
through ssh (so `repo` is the bare repository's path). Hooks write marker files instead
of reloading apps, so no daemon is needed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from corral.cli.main import main
from tests.helpers import free_port
from tests.sshd import SshKit

pytestmark = pytest.mark.timeout(60)

GIT_ID = ["-c", "user.name=corral test", "-c", "user.email=test@corral.invalid"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@dataclass
class Project:
    """A working clone with a pushed ecosystem file, its bare origin, and the target folder."""

    clone: Path
    origin: Path
    target: Path
    kit: SshKit

    @property
    def config(self) -> Path:
        return self.clone / "corral.toml"

    def write_config(
        self,
        hosts: list[str],
        *,
        path: str | None = None,
        extra: dict[str, str | dict[str, str]] | None = None,
    ) -> None:
        """Write (not commit) corral.toml with one `production` env (EXTRA: more keys)."""
        keys = {
            "user": self.kit.user,
            "host": hosts,
            "key": str(self.kit.user_key),
            "ssh_options": self.kit.ssh_options,
            "repo": str(self.origin),
            "ref": "origin/main",
            "path": path or str(self.target),
            "post-deploy": 'echo "deployed $(git rev-parse --short HEAD)" >> "$SHARED/marker"',
            **(extra or {}),
        }
        lines = ["[[apps]]", 'name = "web"', 'script = "web.py"', "", "[deploy.production]"]
        for key, value in keys.items():
            if isinstance(value, dict):  # an inline table: JSON's strings are TOML's
                value = "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + "}"
            else:
                value = json.dumps(value)
            lines.append(f"{json.dumps(key)} = {value}")
        self.config.write_text("\n".join(lines) + "\n")

    def commit(self, message: str, files: dict[str, str] | None = None, push: bool = True) -> str:
        for name, text in (files or {}).items():
            (self.clone / name).write_text(text)
        git(self.clone, "add", "-A")
        git(self.clone, "commit", "-q", "-m", message)
        if push:
            git(self.clone, "push", "-q", "origin", "main")
        return git(self.clone, "rev-parse", "HEAD")

    def deploy(self, *argv: str, own_process: bool = False) -> subprocess.CompletedProcess[str]:
        """`corral deploy CONFIG production ARGV`: in this process (saving an interpreter
        start per call), or with OWN_PROCESS as `python -m corral` run in the clone."""
        words = ["deploy", str(self.config), "production", *argv]
        if own_process:
            return subprocess.run(
                [sys.executable, "-m", "corral", *words],
                cwd=self.clone,
                capture_output=True,
                text=True,
                timeout=45,
                check=False,
            )
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(words)
        return subprocess.CompletedProcess(words, code, out.getvalue(), err.getvalue())

    def ok(self, *argv: str, own_process: bool = False) -> str:
        done = self.deploy(*argv, own_process=own_process)
        assert done.returncode == 0, (
            f"deploy {argv} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
        return done.stdout

    def head(self, folder: Path | None = None) -> str:
        return git((folder or self.target) / "current", "rev-parse", "HEAD")

    def deploys(self, folder: Path | None = None) -> list[str]:
        record = (folder or self.target) / ".deploys"
        return record.read_text().split() if record.exists() else []


@pytest.fixture
def project(tmp_path: Path, ssh_kit: SshKit) -> Project:
    """One pushed commit holding corral.toml, which deploys to host 127.0.0.1 (slot a)."""
    origin, clone = tmp_path / "origin.git", tmp_path / "work"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True, capture_output=True)
    git(clone, "checkout", "-q", "-b", "main")
    project = Project(clone, origin, tmp_path / "srv" / "app", ssh_kit)
    project.write_config([f"127.0.0.1:{ssh_kit.server('a').port}"])
    project.commit("first", {"web.py": "print('v1')\n"})
    git(clone, "branch", "-q", "--set-upstream-to=origin/main")
    return project


@pytest.mark.slow
def test_setup_deploy_second_commit_revert_and_queries(project: Project) -> None:
    out = project.ok("setup", own_process=True)
    target = project.target
    assert (target / "source" / ".git").is_dir() and (target / "shared" / "logs").is_dir()
    assert os.readlink(target / "current") == str(target / "source")
    assert "setup done" in out and project.deploys() == []
    label = f"[127.0.0.1:{project.kit.server('a').port}]"
    assert f"{label} --> cloning" in out

    first = git(project.clone, "rev-parse", "HEAD")
    out = project.ok()  # the default action is update
    assert project.head() == first and project.deploys() == [first]
    assert (target / "shared" / "marker").read_text() == f"deployed {first[:7]}\n"
    header, row = out.strip().splitlines()[-2:]
    assert header.split() == ["HOST", "COMMIT", "TIME", "RESULT"]
    assert row.split()[:2] == [label[1:-1], first[:12]] and row.split()[3] == "ok"

    second = project.commit("second", {"web.py": "print('v2')\n"})
    project.ok()
    assert project.head() == second and project.deploys() == [first, second]
    assert (target / "current" / "web.py").read_text() == "print('v2')\n"
    third = project.commit("third", {"web.py": "print('v3')\n"})
    project.ok()

    assert f"{label} {third[:7]}  " in project.ok("current")  # PM2's long form of curr
    assert second[:7] in project.ok("prev")
    listing = [line for line in project.ok("list").splitlines() if line.startswith(label)]
    numbered = [["0", third[:7]], ["1", second[:7]], ["2", first[:7]]]
    assert [line.split()[1:3] for line in listing] == numbered

    project.ok("revert", "2")  # list's entry 2
    assert project.head() == first and project.deploys() == [first, second, third, first]
    assert (target / "current" / "web.py").read_text() == "print('v1')\n"
    project.ok("revert")  # back to the deploy before: third
    assert project.head() == third

    done = project.deploy("revert", "9")
    assert done.returncode == 1 and "cannot go back 9 deploy(s): 5 recorded" in done.stdout
    assert project.head() == third

    project.ok("ref", first)
    assert project.head() == first and project.deploys()[-1] == first

    report = json.loads(project.ok("list", "--json"))
    assert report["action"] == "list" and report["exit_code"] == 0
    assert report["hosts"][0]["entries"] == [first, third, first, third, second, first]


def test_hooks_env_and_exec(project: Project, tmp_path: Path) -> None:
    """pre-setup names a local script (its text runs remotely); post-setup sees SHARED;
    `env` is exported for post-deploy; exec runs in current."""
    project.write_config(
        [f"127.0.0.1:{project.kit.server('a').port}"],
        extra={
            "pre-setup": "prepare.sh",
            "post-setup": 'echo "post-setup in $(pwd)" > "$SHARED/setup-marker"',
            "post-deploy": 'echo "$GREETING from $(pwd)" > "$SHARED/marker"',
            "env": {"GREETING": "hello there"},
        },
    )
    project.commit("hooks", {"prepare.sh": f"echo prepared > {tmp_path}/pre-setup-marker\n"})
    target = project.target
    project.ok("setup")
    assert (tmp_path / "pre-setup-marker").read_text() == "prepared\n"
    assert (target / "shared" / "setup-marker").read_text() == f"post-setup in {target}/current\n"
    project.ok()
    assert (target / "shared" / "marker").read_text() == f"hello there from {target}/current\n"

    out = project.ok("exec", 'echo "in $(pwd) shared=$SHARED"; git rev-parse --short HEAD')
    assert f"in {target}/current shared={target}/shared" in out
    assert git(project.clone, "rev-parse", "--short", "HEAD") in out
    done = project.deploy("exec", "--", "sh", "-c", "exit 7")
    assert done.returncode == 1 and "command exited 7" in done.stdout


def test_failing_post_deploy_leaves_current_and_history(project: Project) -> None:
    project.write_config(
        [f"127.0.0.1:{project.kit.server('a').port}"],
        extra={"post-deploy": "test ! -e broken || { echo 'cannot start' >&2; exit 3; }"},
    )
    first = project.commit("hook that fails when 'broken' exists")
    project.ok("setup")
    project.ok()
    project.commit("break it", {"broken": "yes\n"})
    done = project.deploy()
    assert done.returncode == 1, done.stdout
    assert "cannot start" in done.stdout  # the hook's stderr is shown, prefixed
    assert project.head() == first and project.deploys() == [first]
    assert not (project.target / "current" / "broken").exists()
    row = done.stdout.strip().splitlines()[-1]
    assert "FAILED: post-deploy exited 3" in row and first[:12] in row


def test_failing_pre_deploy_changes_nothing(project: Project) -> None:
    hosts = [f"127.0.0.1:{project.kit.server('a').port}"]
    project.write_config(hosts, extra={"pre-deploy": "exit 4"})
    first = project.commit("pre-deploy fails")
    project.ok("setup")
    git(project.clone, "commit", "-q", "--allow-empty", "-m", "second")
    git(project.clone, "push", "-q", "origin", "main")
    done = project.deploy()
    assert done.returncode == 1 and "pre-deploy exited 4; nothing changed" in done.stdout
    assert project.head() == first and project.deploys() == []


def test_unreachable_second_host_does_not_stop_the_first(project: Project) -> None:
    good, dead = f"127.0.0.1:{project.kit.server('a').port}", f"127.0.0.1:{free_port()}"
    project.write_config([good, dead])
    commit = project.commit("two hosts, one dead")
    started = time.monotonic()
    assert project.deploy("setup").returncode == 1
    done = project.deploy()
    assert time.monotonic() - started < 20
    assert done.returncode == 1
    assert project.head() == commit and project.deploys() == [commit]
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[-2:]}
    assert rows[good].split()[1] == commit[:12] and rows[good].split()[3] == "ok"
    assert "FAILED: cannot reach the host" in rows[dead] and "refused" in rows[dead]


def rendezvous(base: Path, patience_s: int) -> str:
    """A pre-deploy hook: wait up to PATIENCE_S for the other host to arrive, then note in
    met-<slot> whether it did. Both meet only if they run at the same time."""
    tries = patience_s * 20
    return (
        f"touch {base}/arrived-$CORRAL_TEST_SLOT; met=alone; for i in $(seq {tries}); do "
        f"if [ -e {base}/arrived-a ] && [ -e {base}/arrived-b ]; then met=together; break; fi; "
        f"sleep 0.05; done; echo $met > {base}/met-$CORRAL_TEST_SLOT"
    )


def test_two_hosts_deploy_in_parallel_unless_capped(project: Project, tmp_path: Path) -> None:
    kit = project.kit
    hosts = [f"127.0.0.1:{kit.server('a').port}", f"127.0.0.1:{kit.server('b').port}"]
    base = tmp_path / "srv"
    path = f"{base}/app-$CORRAL_TEST_SLOT"
    project.write_config(hosts, path=path, extra={"pre-deploy": rendezvous(base, 10)})
    commit = project.commit("two hosts")
    project.ok("setup")
    out = project.ok()
    for slot, host in zip("ab", hosts, strict=True):
        folder = base / f"app-{slot}"
        assert project.head(folder) == commit and project.deploys(folder) == [commit]
        assert f"[{host}] --> pre-deploy" in out
        assert (base / f"met-{slot}").read_text() == "together\n"
    assert sorted(line.split()[0] for line in out.splitlines()[-2:]) == sorted(hosts)

    for leftover in base.glob("[am][re]*-?"):  # arrived-*, met-*
        leftover.unlink()
    project.write_config(hosts, path=path, extra={"pre-deploy": rendezvous(base, 1)})
    project.commit("one host at a time")
    project.ok("--parallel", "1")
    met = sorted((base / f"met-{slot}").read_text().strip() for slot in "ab")
    assert met == ["alone", "together"]  # the first host waited for the second in vain


def test_dirty_or_unpushed_repo_is_refused_without_force(project: Project) -> None:
    project.ok("setup")
    (project.clone / "web.py").write_text("print('local edit')\n")
    done = project.deploy()
    assert done.returncode == 1 and "uncommitted changes in web.py" in done.stderr
    assert project.deploys() == []  # no host was touched
    project.ok("--force")
    assert project.deploys() == [git(project.clone, "rev-parse", "HEAD")]

    project.commit("not pushed", push=False)
    done = project.deploy()
    assert done.returncode == 1 and "1 commit not pushed to origin/main" in done.stderr


def test_pre_deploy_local_failure_touches_no_host(project: Project) -> None:
    project.write_config(
        [f"127.0.0.1:{project.kit.server('a').port}"],
        extra={"pre-deploy-local": "echo building; false"},
    )
    project.commit("local hook fails")
    project.ok("setup")
    done = project.deploy()
    assert done.returncode == 1 and "[local] building" in done.stdout
    assert "pre-deploy-local exited 1; no host was touched" in done.stderr
    assert project.deploys() == []
