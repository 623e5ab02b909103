"""The same keys against a real daemon (what `corral monit` runs), through its async client.

The daemon is a separate process in a private home, started the way the CLI starts it;
the assertions read the daemon's own table back over RPC.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from corral.daemon.aclient import AsyncClient
from corral.engine import ProcessInfo, ProcessState
from corral.engine.events import MetricsSample
from corral.tui.app import make_app
from corral.tui.widgets.confirm import ConfirmScreen
from tests.helpers import app as spec
from tests.tui.pilot import wait_until

pytestmark = pytest.mark.timeout(60)


class Snapshot:
    """The daemon's table, refreshed by `poll` (the predicate of wait_until stays sync)."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.rows: list[ProcessInfo] = []

    async def poll(self) -> None:
        self.rows = await self.client.list_processes()

    def by_name(self, name: str) -> list[ProcessInfo]:
        return [row for row in self.rows if row.name == name]


async def test_keys_drive_the_daemon(daemon: AsyncClient) -> None:
    """r, s, S and d then y act on the daemon's processes; q leaves the rest running."""
    await daemon.add([spec("sleeper.py", "alpha"), spec("sleeper.py", "beta")])
    app = make_app(daemon, source="monit", home=daemon.where.root)
    table = Snapshot(daemon)

    async with app.run_test(size=(120, 36)) as pilot:

        async def until(check: Callable[[], object], what: str) -> None:
            async def poll_then_check() -> bool:
                await table.poll()
                return bool(check())

            deadline = time.monotonic() + 15
            while not await poll_then_check():
                if time.monotonic() > deadline:
                    pytest.fail(f"timed out waiting for {what}: {table.rows}")
                await pilot.pause(0.05)

        await wait_until(pilot, lambda: app.table.row_count == 2, what="two rows")
        await pilot.press("r")
        await until(lambda: table.by_name("alpha")[0].restarts == 1, "a restart")
        await pilot.press("s")
        await until(lambda: table.by_name("alpha")[0].status is ProcessState.STOPPED, "stop")
        await wait_until(pilot, lambda: "stopped" in str(app.table.get_cell("id:0", "status")))
        await pilot.press("S")
        await until(lambda: table.by_name("alpha")[0].status is ProcessState.ONLINE, "start")
        await pilot.press("down", "d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(lambda: not table.by_name("beta"), "beta deleted")
        await wait_until(pilot, lambda: app.table.row_count == 1)
        await pilot.press("q")  # monit: no question, nothing stopped
        await pilot.pause()
    await table.poll()
    assert [(r.name, r.status) for r in table.rows] == [("alpha", ProcessState.ONLINE)]


class RingWatch(AsyncClient):
    """The real client; notes how many live points the pane had when the ring came back.

    The app merges the ring into the pane right after `history` returns, with no await in
    between, so the points added by that merge are exactly "after" minus "before".
    """

    def __init__(self, client: AsyncClient, points: Callable[[], int]) -> None:
        super().__init__(client.where)
        self.points = points
        self.answers: list[tuple[int, int]] = []
        """(samples in the ring, points on the pane before the merge) for each call."""

    async def history(self, pm_id: int) -> list[MetricsSample]:
        samples = await super().history(pm_id)
        self.answers.append((len(samples), self.points()))
        return samples


async def test_sparklines_come_full_from_the_daemon_ring(daemon: AsyncClient) -> None:
    """Samples the daemon took before monit opened are on the pane at once."""
    await daemon.add([spec("sleeper.py", "alpha")])
    deadline = time.monotonic() + 20
    while len(await daemon.history(0)) < 3:  # the daemon samples once a second
        assert time.monotonic() < deadline, "the daemon's ring never held 3 samples"
        await asyncio.sleep(0.1)  # polling the daemon's ring, with a deadline

    def points() -> int:
        proc = app.feed.board.procs.get(0)
        return len(proc.memory) if proc else 0

    api = RingWatch(daemon, points)
    app = make_app(api, source="monit", home=daemon.where.root)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: api.answers, what="the app to ask for the ring")
        await wait_until(
            pilot,
            lambda: all(w.is_finished for w in app.workers if w.group == "history"),
            what="the merge",
        )
        [(ring, before)] = api.answers
        # Every sample in the ring predates the app's first live one: all are merged.
        assert ring >= 3 and points() - before >= 3, (ring, before, points())
