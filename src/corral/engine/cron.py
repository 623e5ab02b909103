"""Provides CronJob: calls back at each time a cron expression names.

Expressions are parsed and iterated with croniter, imported only when an app has one.
PM2's 6-field form puts the seconds first (`*/2 * * * * *`), which croniter reads with
`second_at_beginning`. Times are local wall-clock times, as cron's: `0 3 * * *` is 3 am
here, before and after a daylight-saving change.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime

MAX_NAP_S = 60.0
"""Longest single sleep: a wall-clock jump (NTP, suspend) is noticed within a minute."""


def next_time(expression: str, after: float) -> float:
    """The first time strictly after AFTER (a Unix time) that EXPRESSION names."""
    from croniter import croniter

    six = len(expression.split()) == 6
    # Naive local datetimes: croniter steps through wall-clock fields, and
    # `datetime.timestamp` maps the result back through the local zone (DST included).
    start = datetime.fromtimestamp(after)
    moment = croniter(expression, start, second_at_beginning=six).get_next(datetime)
    return float(moment.timestamp())


async def sleep_until(when: float) -> None:
    """Sleep until the wall clock reads WHEN, in naps of at most MAX_NAP_S."""
    # Polling the wall clock is the point here: asyncio sleeps on the monotonic clock.
    while (left := when - time.time()) > 0:  # noqa: ASYNC110
        await asyncio.sleep(min(left, MAX_NAP_S))


class CronJob:
    """A task that sleeps until each time of EXPRESSION, then calls FIRE."""

    def __init__(
        self,
        expression: str,
        fire: Callable[[], None],
        on_next: Callable[[float], None] | None = None,
    ) -> None:
        self.expression = expression
        self.next_at: float | None = None
        """When FIRE is called next (Unix time); None before the task has started."""
        self._fire = fire
        self._on_next = on_next
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run on the current loop (idempotent)."""
        if self._task is None:
            self.next_at = next_time(self.expression, time.time())
            self._task = asyncio.get_running_loop().create_task(self._run())

    def cancel(self) -> None:
        """Stop for good."""
        if self._task is not None:
            self._task.cancel()
        self.next_at = None

    async def wait_closed(self) -> None:
        """Wait for the task to end after `cancel`."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            due = self.next_at
            assert due is not None
            if self._on_next is not None:
                self._on_next(due)
            await sleep_until(due)
            # From now, not from DUE: after a suspend the missed times are skipped, not
            # fired one after another.
            self.next_at = next_time(self.expression, max(time.time(), due))
            self._fire()
