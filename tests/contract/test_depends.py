"""`depends_on` through both backends, with the example stack's real programs
(config/stack): a db stand-in ready after a delay, a migration exiting 0 or 1, a web app
needing both. Order is read from the event stream, which both backends deliver in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from corral.config.spec import AppSpec
from corral.engine.api import SupervisorAPI
from corral.engine.events import ProcessInfo, StateChanged
from corral.engine.states import ProcessState
from tests.contract.waits import holds, until
from tests.helpers import app

pytestmark = pytest.mark.timeout(120)
S = ProcessState
STACK = Path(__file__).parents[2] / "config" / "stack"


def part(script: str, name: str, **kw: Any) -> AppSpec:
    """An app of the example stack (config/stack/SCRIPT) run by this Python."""
    kw.setdefault("env", dict(os.environ, PYTHONUNBUFFERED="1"))
    return AppSpec(
        name=name, script=str(STACK / script), cwd=str(STACK), interpreter=sys.executable, **kw
    )


def stack(migrate_exit: int = 0, **web: Any) -> list[AppSpec]:
    """web first, so the graph and not the order of the list decides who starts first."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", MIGRATE_EXIT=str(migrate_exit))
    return [
        part(
            "web.py",
            "web",
            depends_on={"db": "ready", "migrate": "completed_successfully"},
            **web,
        ),
        part("db.py", "db", args=("1.0",), wait_ready=True, listen_timeout=20_000),
        part("migrate.py", "migrate", autorestart=False, depends_on={"db": "ready"}, env=env),
    ]


def named(infos: list[ProcessInfo], name: str) -> ProcessInfo:
    return next(i for i in infos if i.name == name)


def status(name: str, state: ProcessState) -> Any:
    return lambda infos: named(infos, name).status is state


@contextlib.asynccontextmanager
async def feed(api: SupervisorAPI) -> AsyncIterator[list[tuple[str, ProcessState]]]:
    """(name, status) of every state change from now on, in order. An idle app is added
    first and its snapshot awaited, so the subscription is live before the test acts."""
    await api.add([app("sleeper.py", "anchor")])
    seen: list[tuple[str, ProcessState]] = []
    live = asyncio.Event()

    async def read() -> None:
        async for event in api.events():
            if isinstance(event, StateChanged):
                seen.append((event.info.name, event.info.status))
                live.set()

    task = asyncio.create_task(read())
    try:
        await asyncio.wait_for(live.wait(), 15)
        seen.clear()
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def first(seen: list[tuple[str, ProcessState]], name: str, state: ProcessState) -> int:
    """Where NAME first went to STATE in SEEN; the stream may lag the process list a
    little (the daemon sends events in batches), so it is waited for, with a deadline."""
    deadline = time.monotonic() + 15
    while (name, state) not in seen:
        if time.monotonic() > deadline:
            pytest.fail(" ".join(f"{n}:{s.value}" for n, s in seen))
        await asyncio.sleep(0.05)
    return seen.index((name, state))


async def test_a_stack_starts_in_order_and_stops_in_reverse(api: SupervisorAPI) -> None:
    async with feed(api) as seen:
        added = await api.add(stack())
        web, db, migrate = (named(added, n) for n in ("web", "db", "migrate"))
        assert db.status is S.LAUNCHING  # waiting for READY=1
        assert web.status is S.WAITING and migrate.status is S.WAITING
        assert web.waiting_for == ("db ready", "migrate completed_successfully")
        assert migrate.waiting_for == ("db ready",) and web.pid is None
        infos = await until(api, status("db", S.ONLINE))
        infos = await until(api, lambda i: named(i, "migrate").status is not S.WAITING)
        infos = await until(
            api, lambda i: named(i, "web").waiting_for in ((), ("migrate completed_successfully",))
        )
        infos = await until(api, status("web", S.ONLINE))
        done = named(infos, "migrate")
        assert (done.status, done.exit_code, done.pid) == (S.COMPLETED, 0, None)  # a one-shot
        assert named(infos, "web").waiting_for == ()
        assert await first(seen, "migrate", S.LAUNCHING) > await first(seen, "db", S.ONLINE)
        assert await first(seen, "web", S.LAUNCHING) > await first(seen, "migrate", S.COMPLETED)
        seen.clear()
        stopped = await api.stop("all")
        assert {i.name: i.status for i in stopped} == dict.fromkeys(
            ("anchor", "web", "db", "migrate"), S.STOPPED
        )
        # Dependants first: web was stopped before db was asked to stop.
        assert await first(seen, "db", S.STOPPING) > await first(seen, "web", S.STOPPED)


async def test_a_failed_dependency_leaves_the_dependant_waiting_with_the_reason(
    api: SupervisorAPI,
) -> None:
    await api.add(stack(migrate_exit=1))
    infos = await until(api, status("migrate", S.ERRORED))
    assert named(infos, "migrate").exit_code == 1  # a failed one-shot is errored, not stopped
    infos = await until(api, lambda i: named(i, "web").waiting_for == ("migrate exited 1",))
    # Nothing will change by itself: web neither starts nor errors.
    await holds(api, lambda i: named(i, "web").status is S.WAITING, 1.5)
    # The user fixes the migration and runs it again: web starts as soon as it is done.
    await api.restart("migrate", env={"MIGRATE_EXIT": "0"})
    infos = await until(api, status("web", S.ONLINE))
    assert named(infos, "migrate").status is S.COMPLETED


async def test_a_dependency_stopped_by_the_user_holds_and_its_start_releases(
    api: SupervisorAPI,
) -> None:
    await api.add(stack())
    await until(api, status("web", S.ONLINE))
    await api.stop("web", "db")
    [web] = await api.start("web")
    assert web.status is S.WAITING and web.waiting_for == ("db stopped",)
    await holds(api, lambda i: named(i, "db").status is S.STOPPED, 0.5)  # not brought along
    await api.start("db")
    await until(api, status("web", S.ONLINE))
    # A restart of a dependency does not touch its dependants.
    before = named(await api.list_processes(), "web")
    await api.restart("db")
    infos = await until(api, status("db", S.ONLINE))
    assert (named(infos, "web").pid, named(infos, "web").restarts) == (before.pid, 0)


async def test_start_with_deps_and_no_deps(api: SupervisorAPI) -> None:
    await api.add(stack())
    await until(api, status("web", S.ONLINE))
    await api.stop("all")
    [alone] = await api.start("web", deps="ignore")  # --no-deps: depends_on ignored
    assert alone.status in (S.LAUNCHING, S.ONLINE)
    infos = await api.list_processes()
    assert named(infos, "db").status is S.STOPPED and named(infos, "migrate").status is S.STOPPED
    await api.stop("web")
    [web] = await api.start("web", deps="with")  # --with-deps: db, then migrate, then web
    assert web.status is S.WAITING
    infos = await until(api, status("web", S.ONLINE))
    assert named(infos, "db").status is S.ONLINE and named(infos, "migrate").status is S.COMPLETED
