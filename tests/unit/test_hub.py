"""The hub: a failing sink is dropped without stopping the others; batches gather events."""

from __future__ import annotations

import asyncio

from corral.engine.events import Event, Lifecycle
from corral.engine.hub import Hub


def note(n: int) -> Lifecycle:
    return Lifecycle(n, "x", 0.0, f"event {n}")


def test_a_failing_sink_is_removed_and_the_others_still_hear() -> None:
    hub = Hub()
    heard: list[Event] = []

    def broken(_event: Event) -> None:
        raise BrokenPipeError

    hub.add_sink(broken)
    hub.add_sink(heard.append)
    hub.publish(note(1))
    hub.publish(note(2))
    assert heard == [note(1), note(2)]


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
