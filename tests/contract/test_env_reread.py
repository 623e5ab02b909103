"""Env files are read again by `reload NAME` and `restart NAME --update-env` (not by a plain
restart, whose env stays frozen, as PM2's), through both backends, as a real app sees it."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

from corral.config import load_ecosystem
from corral.engine.api import BadArgument, SupervisorAPI
from corral.engine.logfiles import log_paths
from tests.contract.waits import until

pytestmark = pytest.mark.timeout(90)

SHOW = """\
import json, os, time
print("ENV " + json.dumps({k: os.environ.get(k) for k in "ABC"}), flush=True)
time.sleep(3600)
"""


async def last_env(log: Path, expected: dict[str, str | None], timeout: float = 20.0) -> None:
    """Wait (with a deadline) until the app's latest `ENV` line is EXPECTED."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines() if log.exists() else []
        envs = [json.loads(x[4:]) for x in lines if x.startswith("ENV ")]
        seen = envs[-1] if envs else None
        if seen == expected:
            return
        await asyncio.sleep(0.05)  # polling a log file with a deadline (the engine writes it)
    pytest.fail(f"the app printed {seen}, not {expected}")


async def test_reload_and_restart_update_env_read_env_files_again(
    api: SupervisorAPI, tmp_path: Path, home: Path
) -> None:
    (tmp_path / "show.py").write_text(SHOW)
    dotenv = tmp_path / ".env"
    dotenv.write_text("A=one\nC=file\n")
    (tmp_path / "corral.toml").write_text(
        f'[[apps]]\nname = "web"\nscript = "show.py"\ninterpreter = "{sys.executable}"\n'
        'env_file = ".env"\nenv = { C = "env" }\n'
    )
    [spec] = load_ecosystem(str(tmp_path / "corral.toml")).apps
    [info] = await api.add([spec])
    out = Path(str(log_paths(spec, info.id, str(home)).out))
    await last_env(out, {"A": "one", "B": None, "C": "env"})

    dotenv.write_text("A=two\nB=new\nC=file2\n")
    await api.restart("web")  # frozen: PM2's restart without --update-env
    await until(api, lambda i: i[0].restarts == 1 and i[0].pid is not None)
    await last_env(out, {"A": "one", "B": None, "C": "env"})

    [again] = await api.restart("web", env={})  # --update-env
    await last_env(out, {"A": "two", "B": "new", "C": "env"})  # `env` still wins over the file
    assert again.spec is not None and again.spec.secret_env == ("A", "B")  # masked in describe

    dotenv.write_text("A=three\n")
    await api.reload("web")
    await last_env(out, {"A": "three", "B": None, "C": "env"})  # B left the file: gone

    dotenv.unlink()
    [before] = await api.list_processes("web")
    with pytest.raises(BadArgument, match=r"'web'.*env_file.*not found"):
        await api.reload("web")
    [after] = await api.list_processes("web")
    assert after.pid == before.pid  # refused whole: the app keeps running as it was
