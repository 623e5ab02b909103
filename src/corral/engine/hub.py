"""Provides Hub: the per-supervisor event broadcaster.

Sinks are called synchronously for every event and never miss one (log files, the
`up --no-ui` printer). Subscribers get a bounded queue each: a subscriber that falls too
far behind is cut off with `Lagged` rather than slowing every app down. Subscribing takes
the snapshot and registers the queue with no await in between, so no event slips past.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable

from corral.engine.events import Event

Sink = Callable[[Event], None]

SUBSCRIBER_QUEUE = 50_000
"""Events a subscriber may have waiting before it is cut off."""


class Lagged(RuntimeError):
    """A subscriber fell more than SUBSCRIBER_QUEUE events behind and was dropped."""


class Hub:
    """Fans events out to sinks and subscribers."""

    def __init__(self) -> None:
        self._sinks: list[Sink] = []
        self._queues: set[asyncio.Queue[Event | None]] = set()

    @property
    def watched(self) -> bool:
        """True while at least one subscriber listens (a TUI, `corral logs`)."""
        return bool(self._queues)

    def add_sink(self, sink: Sink) -> None:
        """Call SINK for every event from now on (it must not block)."""
        self._sinks.append(sink)

    def remove_sink(self, sink: Sink) -> None:
        """Stop calling SINK."""
        if sink in self._sinks:
            self._sinks.remove(sink)

    def publish(self, event: Event) -> None:
        """Hand EVENT to every sink and subscriber; a failing sink is dropped, not fatal.

        A sink that raises (stdout closed under `up --no-ui | head`) must not stop the
        engine in the middle of a restart or a stop: it is removed and the rest go on.
        """
        for sink in list(self._sinks):
            try:
                sink(event)
            except Exception:
                self.remove_sink(sink)
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                # Make room for the marker so the subscriber learns it was cut off.
                queue.get_nowait()
                queue.put_nowait(None)

    async def subscribe_batches(
        self, snapshot: Callable[[], Iterable[Event]], window: float
    ) -> AsyncIterator[list[Event]]:
        """Like `subscribe`, but lists of events: whatever arrives within WINDOW seconds of
        the first is sent along with it (one message instead of hundreds for a remote
        client; the snapshot is the first list)."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        first = list(snapshot())
        self._queues.add(queue)
        try:
            if first:
                yield first
            while True:
                batch = [await queue.get()]
                await asyncio.sleep(window)
                while not queue.empty():
                    batch.append(queue.get_nowait())
                if None in batch:
                    raise Lagged(f"subscriber fell {SUBSCRIBER_QUEUE} events behind")
                yield batch  # type: ignore[misc]
        finally:
            self._queues.discard(queue)

    async def subscribe(self, snapshot: Callable[[], Iterable[Event]]) -> AsyncIterator[Event]:
        """SNAPSHOT's events first, then live ones; raises Lagged if cut off."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        first = list(snapshot())
        self._queues.add(queue)
        try:
            for event in first:
                yield event
            while True:
                item = await queue.get()
                if item is None:
                    raise Lagged(f"subscriber fell {SUBSCRIBER_QUEUE} events behind")
                yield item
        finally:
            self._queues.discard(queue)
