"""depends_on as a user sees it: the example stack (config/stack.toml) run by `corral up`,
and `list`, `jlist`, `describe`, `start --with-deps/--no-deps` through the daemon."""

from __future__ import annotations

import json
import re
import shutil
import signal
from pathlib import Path

import pytest

from tests.helpers import Corral, Up, crash, free_port, recover, saved, wait_until

pytestmark = pytest.mark.timeout(120)
CONFIG = Path(__file__).parents[2] / "config"


def example(tmp_path: Path, **replace: str) -> Path:
    """config/stack.toml and its apps, copied (web on a free port, and REPLACE applied)."""
    shutil.copytree(CONFIG / "stack", tmp_path / "stack")
    text = (CONFIG / "stack.toml").read_text().replace("8766", str(free_port()))  # probes too
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "stack.toml"
    path.write_text(text)
    return path


def test_the_example_stack_runs_in_order_under_up(
    tmp_path: Path, up_env: dict[str, str], runner: list[Up]
) -> None:
    up = Up([str(example(tmp_path))], tmp_path, up_env)
    runner.append(up)
    up.wait_for(r"web\[\d\] \| web: serving on")
    up.wait_for(r"worker\[\d\] \| worker: job 1 done")
    order = [
        line
        for line in up.lines
        if re.search(r"db: ready|migrate: done|web: serving|worker: connected", line)
    ]
    assert [re.search(r"(db|migrate|web|worker):", line)[1] for line in order][:2] == [  # type: ignore[index]
        "db",
        "migrate",
    ]
    said = [ln.split("] ", 2)[-1] for ln in up.lines if "web[" in ln and "waiting:" in ln]
    assert said == [  # each change of what it waits for is said
        "waiting: db ready, migrate completed_successfully",
        "waiting: migrate completed_successfully",
    ]
    assert any("web: DATABASE_URL=postgres://" in line for line in up.lines)  # the env file
    up.proc.send_signal(signal.SIGTERM)
    code, _err = up.finish()
    assert code == 0


def rows(corral: Corral) -> dict[str, dict[str, object]]:
    return {str(r["name"]): r for r in json.loads(corral.ok("jlist"))}


def test_waiting_shows_in_list_jlist_describe_and_start_flags(
    tmp_path: Path, corral: Corral
) -> None:
    path = example(
        tmp_path, **{'script = "stack/migrate.py"': 'script = "stack/migrate.py"\nargs = ["1"]'}
    )
    code, out, err = corral("start", str(path))
    assert code == 1 and re.search(r"migrate \(\d+\) errored: exited with code 1", out + err)
    wait_until(lambda: rows(corral)["migrate"]["status"] == "errored", what="migrate errored")
    wait_until(lambda: rows(corral)["web"]["waiting_for"] == ["migrate exited 1"], what="reason")
    table = rows(corral)
    assert table["web"]["status"] == "waiting" and table["web"]["pid"] is None
    assert table["worker"]["waiting_for"] == ["migrate exited 1"]
    listed = corral.ok("list")
    assert re.search(r"web \[\d+\] waiting: migrate exited 1", listed)
    described = corral.ok("describe", "web")
    assert re.search(r"status\s+waiting: migrate exited 1", described)
    assert re.search(r"depends on\s+db ready, migrate completed_successfully", described)
    # --no-deps: web starts now, whatever migrate did; worker stays waiting.
    corral.ok("start", "web", "--no-deps")
    wait_until(lambda: rows(corral)["web"]["status"] == "online", what="web online")
    assert rows(corral)["worker"]["status"] == "waiting"
    # stop all: dependants first, and nothing is left waiting.
    corral.ok("stop", "all")
    assert {r["status"] for r in rows(corral).values()} == {"stopped"}
    # --with-deps: db (ready after its delay), then migrate, which fails again: web waits.
    corral.ok("start", "web", "--with-deps")
    wait_until(lambda: rows(corral)["db"]["status"] == "online", what="db online")
    wait_until(lambda: rows(corral)["web"]["waiting_for"] == ["migrate exited 1"], what="web")
    assert rows(corral)["worker"]["status"] == "stopped"  # not a dependency of web
    code, _out, err = corral("start", "web", "--with-deps", "--no-deps")
    assert code == 2 and "not allowed with" in err


def test_a_resurrected_stack_comes_back_in_order(tmp_path: Path, corral: Corral) -> None:
    corral.ok("start", str(example(tmp_path)))
    wait_until(lambda: rows(corral)["web"]["status"] == "online", what="web online")
    corral.ok("save")
    assert {a["name"]: a["status"] for a in saved(corral)} == {
        "db": "online",
        "migrate": "online",  # a completed job runs again: its dependants wait for it
        "web": "online",
        "worker": "online",
    }
    corral.ok("kill")
    corral.ok("resurrect")
    table = rows(corral)
    assert table["db"]["status"] in ("launching", "online")
    assert table["web"]["status"] == "waiting" and table["web"]["pid"] is None
    wait_until(lambda: rows(corral)["web"]["status"] == "online", what="web online again")
    assert rows(corral)["migrate"]["status"] == "completed"


def test_a_daemon_recovered_after_kill_9_does_not_start_a_dependant_too_early(
    tmp_path: Path, corral: Corral
) -> None:
    failing = 'script = "stack/migrate.py"\nargs = ["1"]'
    corral("start", str(example(tmp_path, **{'script = "stack/migrate.py"': failing})), "--no-wait")
    wait_until(lambda: rows(corral)["web"]["waiting_for"] == ["migrate exited 1"], what="reason")
    # Autosaved as wanting to run (waiting and errored are not stopped): resurrect and
    # recovery bring them back, waiting again.
    wanted = {"db": "online", "migrate": "online", "web": "online", "worker": "online"}
    wait_until(lambda: {a["name"]: a["status"] for a in saved(corral)} == wanted, what="dump")
    crash(corral)
    recover(corral)  # the new daemon restores the apps before it answers
    table = rows(corral)
    assert table["web"]["status"] == "waiting" and table["web"]["pid"] is None
    assert table["worker"]["status"] == "waiting"
    wait_until(lambda: rows(corral)["migrate"]["status"] == "errored", what="migrate ran again")
    wait_until(lambda: rows(corral)["web"]["waiting_for"] == ["migrate exited 1"], what="reason")
    assert rows(corral)["web"]["pid"] is None and rows(corral)["web"]["restarts"] == 0
