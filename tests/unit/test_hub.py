"""The hub: a failing sink is reported and retried without stopping the others; batches
gather events; a subscriber that stops reading costs a bounded number of bytes."""

from __future__ import annotations

import asyncio
import contextlib

from corral.engine.events import Event, Lagged, Lifecycle, LogLines
from corral.engine.hub import SUBSCRIBER_BYTES, Hub


def note(n: int) -> Lifecycle:
    return Lifecycle(n, "x", 0.0, f"event {n}")


def test_a_failing_sink_is_reported_retried_and_the_others_still_hear() -> None:
    hub = Hub()
    heard: list[Event] = []
    tried: list[Event] = []
    broken_now = True

    def flaky(event: Event) -> None:
        tried.append(event)
        if broken_now:
            raise BrokenPipeError("stdout closed")

    hub.add_sink(flaky)
    hub.add_sink(heard.append)
    hub.publish(note(1))
    hub.publish(note(2))
    broken_now = False
    hub.publish(note(3))
    reports = [e for e in heard if isinstance(e, Lifecycle) and e.id == -1]
    assert [e for e in heard if e not in reports] == [note(1), note(2), note(3)]
    assert note(2) in tried and note(3) in tried  # retried, never dropped
    assert len(reports) == 2  # once when it starts failing, once when it works again
    assert reports[0].level == "error" and "BrokenPipeError: stdout closed" in reports[0].message
    assert "works again after 3 failures" in reports[1].message  # 2 events and the report


async def test_a_stalled_subscriber_holds_bounded_bytes_then_learns_what_it_missed() -> None:
    hub = Hub()
    stream = hub.subscribe(lambda: [note(0)])
    assert await anext(stream) == note(0)
    block = b"x" * 1000 + b"\n" + b"y" * 1000  # two lines of 1 kB
    for _ in range(20_000):  # 40 MB published; the subscriber reads nothing meanwhile
        hub.publish(LogLines(1, "blast", "out", 0.0, block))
    (subscription,) = hub._subscriptions
    assert subscription.size <= SUBSCRIBER_BYTES
    queued = len(subscription.events)
    received = [await anext(stream) for _ in range(queued + 2)]
    assert all(isinstance(e, LogLines) for e in received[:queued])
    lagged = received[queued]
    assert isinstance(lagged, Lagged) and lagged.lines == 2 * (20_000 - queued)
    assert received[queued + 1] == note(0)  # a fresh snapshot, then live again
    hub.publish(note(5))
    assert await anext(stream) == note(5)
    await stream.aclose()  # type: ignore[attr-defined]


async def test_batches_start_with_the_snapshot_and_gather_what_follows() -> None:
    hub = Hub()
    stream = hub.subscribe_batches(lambda: [note(0)], window=0.05)
    assert await anext(stream) == [note(0)]
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    for n in (1, 2, 3):
        hub.publish(note(n))
    assert await waiting == [note(1), note(2), note(3)]
    await stream.aclose()  # type: ignore[attr-defined]
    assert not hub.watched


async def test_lines_a_stalled_subscriber_misses_are_counted_for_metrics() -> None:
    """`lines_dropped` (corral_daemon_log_lines_dropped_total) adds up the lines that a
    subscriber which stopped reading missed; `subscribers` counts who listens."""
    hub = Hub()
    stream = hub.subscribe_batches(list, 0.0)
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # the subscription registers on its first step
    assert hub.subscribers == 1
    block = b"\n".join([b"x" * 100] * 1000)  # 1000 lines, ~100 KB an event
    for _ in range(60):  # ~6 MB: past the subscriber's byte bound
        hub.publish(LogLines(0, "x", "out", 0.0, block))
    assert hub.lines_dropped > 0
    assert hub.lines_dropped % 1000 == 0
    first.cancel()  # the reader leaves: its subscription goes with it
    with contextlib.suppress(asyncio.CancelledError):
        await first
    assert hub.subscribers == 0


async def test_only_a_sink_alone_with_the_lines_may_be_lent_them() -> None:
    """Lines may be lent (a view of a reused read buffer) to a sink only while nobody
    else takes them: no subscriber, and every other sink said it ignores lines."""
    hub = Hub()
    files: list[Event] = []
    states: list[Event] = []
    hub.add_sink(files.append)
    hub.add_sink(states.append, lines=False)
    assert hub.takes_lines_alone(files.append)
    hub.publish(LogLines(1, "x", "out", 0.0, b"a"))
    hub.publish(note(1))
    assert files == [LogLines(1, "x", "out", 0.0, b"a"), note(1)] and states == [note(1)]
    stream = hub.subscribe(lambda: [])
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    assert not hub.takes_lines_alone(files.append)  # a monitor needs lines of its own
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await stream.aclose()  # type: ignore[attr-defined]
    assert hub.takes_lines_alone(files.append)
    keeper: list[Event] = []
    hub.add_sink(keeper.append)  # a sink that did not say: it may keep what it gets
    assert not hub.takes_lines_alone(files.append)
    hub.remove_sink(keeper.append)
    assert hub.takes_lines_alone(files.append)
