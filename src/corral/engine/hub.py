"""Provides Hub: the per-supervisor event broadcaster.

Sinks are called synchronously for every event and never miss one (log files, the
`up --no-ui` printer). Subscribers (a TUI, `corral logs`, an RPC client) each get a queue
bounded in bytes: one that stops reading misses events rather than growing the process
or slowing every app down, and once it has caught up it gets a `Lagged` event saying
how much it missed, then a fresh snapshot, then live events again. Subscribing takes the
snapshot and registers the queue with no await in between, so no event slips past.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Literal

from corral.engine.events import Event, Lagged, Lifecycle, LogLines
from corral.engine.lines import count_lines

Sink = Callable[[Event], None]

SUBSCRIBER_BYTES = 4 * 1024 * 1024
"""Bytes of events a subscriber may have waiting; past that it misses events (see Lagged).

Four megabytes is seconds of a chatty app's output and a few milliseconds of a flood:
enough that a reader which keeps up never notices, small enough that a hundred stalled
readers cost the daemon less than half a gigabyte."""

BATCH_BYTES = 256 * 1024
"""At most this many bytes of events travel in one batch (one RPC message), so the
encoded message a slow client has not yet taken stays small too."""

EVENT_OVERHEAD = 256
"""What an event costs beyond its log text: the object, its fields, its JSON."""

STATE_COST = 4096
"""What a state change is counted as (a process's info, its spec and environment)."""


def cost(event: Event) -> int:
    """The bytes EVENT is counted as in a subscriber's queue (an estimate, cheap to take)."""
    if isinstance(event, LogLines):
        return len(event.block) + EVENT_OVERHEAD
    if event.kind == "state":
        return STATE_COST
    return EVENT_OVERHEAD


class Subscription:
    """One subscriber's queue: bounded in bytes, counting what it misses once full."""

    __slots__ = ("_ready", "events", "missed_events", "missed_lines", "size")

    def __init__(self) -> None:
        self.events: deque[Event] = deque()
        self.size = 0
        """The bytes (by `cost`) of the events waiting."""
        self.missed_lines = 0
        self.missed_events = 0
        self._ready = asyncio.Event()

    @property
    def lagging(self) -> bool:
        """True from the first missed event until the subscriber is told."""
        return bool(self.missed_lines or self.missed_events)

    def offer(self, event: Event) -> int:
        """Queue EVENT, or count it as missed while the queue is full (until drained);
        the number of log lines missed (0 when queued)."""
        size = cost(event)
        if self.lagging or self.size + size > SUBSCRIBER_BYTES:
            missed = 0
            if isinstance(event, LogLines):
                missed = count_lines(event.block)
                self.missed_lines += missed
            else:
                self.missed_events += 1
            self._ready.set()
            return missed
        self.events.append(event)
        self.size += size
        self._ready.set()
        return 0

    async def wait(self) -> None:
        """Return once something is waiting (an event, or the news of a lag)."""
        while not self.events and not self.lagging:
            self._ready.clear()
            await self._ready.wait()

    def take(self, limit: int, snapshot: Callable[[], Iterable[Event]]) -> list[Event]:
        """Up to LIMIT bytes of waiting events (at least one); once drained after a lag,
        the Lagged event and a fresh SNAPSHOT instead."""
        batch: list[Event] = []
        taken = 0
        while self.events and (not batch or taken < limit):
            event = self.events.popleft()
            size = cost(event)
            self.size -= size
            taken += size
            batch.append(event)
        if batch or not self.lagging:
            return batch
        lagged = Lagged(self.missed_lines, self.missed_events, time.time())
        self.missed_lines = self.missed_events = 0
        return [lagged, *snapshot()]


class Hub:
    """Fans events out to sinks and subscribers."""

    def __init__(self) -> None:
        self._sinks: list[Sink] = []
        self._line_sinks: list[Sink] = []
        """The sinks that take log lines (the others are not called for them)."""
        self._sample_sinks: list[Sink] = []
        self._failing: dict[Sink, int] = {}
        """Sinks whose last call raised, with how many calls in a row did."""
        self._subscriptions: set[Subscription] = set()
        self.lines_dropped = 0
        """Log lines subscribers missed by falling behind, since start (they stay in the
        files; only the slow reader's view skipped them)."""
        self.on_watch: Callable[[], None] = lambda: None
        """Called when a subscriber starts listening (the sampler speeds up for it)."""

    @property
    def subscribers(self) -> int:
        """How many subscribers listen now."""
        return len(self._subscriptions)

    @property
    def watched(self) -> bool:
        """True while at least one subscriber listens (a TUI, `corral logs`)."""
        return bool(self._subscriptions)

    @property
    def wants_samples(self) -> bool:
        """True when someone takes metrics samples: a subscriber, or a sink that asked.

        The sampler's figures reach `list` and the memory limits without events; with
        200 apps, publishing a pass nobody reads cost as much as reading /proc for it.
        """
        return bool(self._subscriptions or self._sample_sinks)

    def takes_lines_alone(self, sink: Sink) -> bool:
        """True when SINK is the only taker of log lines: no subscriber listens and no
        other sink takes them (so lines may be lent to it as they lie in a read buffer)."""
        return not self._subscriptions and self._line_sinks == [sink]

    def add_sink(self, sink: Sink, samples: bool = False, lines: bool = True) -> None:
        """Call SINK for every event from now on (it must not block); with SAMPLES,
        metrics samples are published even while no subscriber listens; without LINES,
        SINK is not called for log lines (it has nothing to do with them)."""
        self._sinks.append(sink)
        if lines:
            self._line_sinks.append(sink)
        if samples:
            self._sample_sinks.append(sink)

    def remove_sink(self, sink: Sink) -> None:
        """Stop calling SINK."""
        if sink in self._sinks:
            self._sinks.remove(sink)
        if sink in self._line_sinks:
            self._line_sinks.remove(sink)
        if sink in self._sample_sinks:
            self._sample_sinks.remove(sink)
        self._failing.pop(sink, None)

    def publish(self, event: Event) -> None:
        """Hand EVENT to every sink and subscriber; a failing sink is reported, not fatal.

        A sink that raises (a full disk under the log files, stdout closed under
        `up --no-ui | head`) must not stop the engine in the middle of a restart or a
        stop, nor keep the other sinks from the event. It stays registered and is tried
        again with the next event: the failure is published as an error (which reaches
        daemon.log and every front end) when it starts, and again when it ends.
        """
        news: list[Lifecycle] = []
        for sink in list(self._line_sinks if isinstance(event, LogLines) else self._sinks):
            try:
                sink(event)
            except Exception as exc:  # any sink, any failure: the last line of defence
                failures = self._failing.get(sink, 0)
                self._failing[sink] = failures + 1
                if not failures:
                    detail = f"failed ({type(exc).__name__}: {exc}); retried with every event"
                    news.append(_sink_news(sink, detail, "error"))
            else:
                failures = self._failing.pop(sink, 0) if self._failing else 0
                if failures:
                    news.append(_sink_news(sink, f"works again after {failures} failures", "info"))
        for subscription in self._subscriptions:
            self.lines_dropped += subscription.offer(event)
        for item in news:
            self.publish(item)  # a sink failing on this too is already marked: no loop

    async def subscribe_batches(
        self, snapshot: Callable[[], Iterable[Event]], window: float
    ) -> AsyncIterator[list[Event]]:
        """Like `subscribe`, but lists of events: whatever arrives within WINDOW seconds of
        the first is sent along with it (one message instead of hundreds for a remote
        client; the snapshot is the first list), up to BATCH_BYTES a list."""
        subscription = Subscription()
        first = list(snapshot())
        self._subscriptions.add(subscription)
        self.on_watch()
        try:
            if first:
                yield first
            while True:
                await subscription.wait()
                await asyncio.sleep(window)
                yield subscription.take(BATCH_BYTES, snapshot)
        finally:
            self._subscriptions.discard(subscription)

    async def subscribe(self, snapshot: Callable[[], Iterable[Event]]) -> AsyncIterator[Event]:
        """SNAPSHOT's events first, then live ones (with a Lagged event after any gap)."""
        subscription = Subscription()
        first = list(snapshot())
        self._subscriptions.add(subscription)
        self.on_watch()
        try:
            for event in first:
                yield event
            while True:
                await subscription.wait()
                for event in subscription.take(BATCH_BYTES, snapshot):
                    yield event
        finally:
            self._subscriptions.discard(subscription)


def _sink_news(sink: Sink, what: str, level: Literal["info", "error"]) -> Lifecycle:
    name = getattr(sink, "__qualname__", None) or type(sink).__qualname__
    return Lifecycle(-1, "corral", time.time(), f"event sink {name} {what}", level)
