"""The TUI's pure parts: making app output safe, the bounded stores, the table's rows."""

from __future__ import annotations

import pytest

from corral.engine.events import LogLines, MetricsSample, Removed, StateChanged
from corral.engine.states import ProcessState
from corral.tui.feed import Feed
from corral.tui.logtext import MAX_LINE_CHARS, clean
from corral.tui.model import POINTS, LogStore
from tests.tui.scripted import T0, demo_events, info, spec


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[1;31merror\x1b[0m: boom", "error: boom"),
        ("[red]markup?[/red] [link]", "[red]markup?[/red] [link]"),
        ("10%\r50%\r100%", "100%"),
        ("windows line\r", "windows line"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("bell\x07 nul\x00 del\x7f", "bell nul del"),
        ("a\tb", "a   b"),
        ("split\u2028here", "splithere"),
    ],
)
def test_clean_leaves_plain_text(raw: str, shown: str) -> None:
    """ANSI codes, carriage returns and control characters never reach the screen."""
    assert clean(raw) == shown


def test_clean_cuts_very_long_lines() -> None:
    """A megabyte line becomes a bounded one that says how much was cut."""
    text = clean("x" * 1_000_000)
    assert len(text) < MAX_LINE_CHARS + 30
    assert text.endswith(f"(+{1_000_000 - MAX_LINE_CHARS} chars)")


def test_log_store_is_bounded_and_orders_history_first() -> None:
    """Each process keeps its last N lines; history read late still comes first."""
    store = LogStore(per_process=3)
    store.add(0, ["a1", "a2"])
    store.add(1, ["b1"])
    store.add(0, ["a3", "a4"])
    assert store.view(None) == ["a2", "b1", "a3", "a4"]
    store.add_history(1, ["old"])
    assert store.view([1]) == ["old", "b1"]
    assert store.view(None, query="A3") == ["a3"]


def test_feed_routes_events_and_respects_the_view() -> None:
    """Lines go to the tail only while shown and followed; paused lines are counted."""
    feed = Feed()
    for event in demo_events(samples=POINTS + 5):
        feed.take(event)
    assert len(feed.board.procs[4].cpu) == POINTS  # the sparkline ring is bounded
    assert len(feed.take_pending()) == 11
    feed.view.follow = False
    feed.take(LogLines.of(0, "web", "out", T0, (b"while paused",)))
    assert feed.missed == 1 and not feed.pending
    feed.view.follow, feed.view.ids = True, frozenset({2})
    assert feed.take(LogLines.of(0, "web", "out", T0, (b"web line",))).lines == 0
    assert all("worker[2]" in line for line in feed.visible_lines() if "[corral]" not in line)
    feed.take(Removed(0, "web", T0))
    assert 0 not in feed.board.procs
    assert feed.take(MetricsSample(0, T0, 1.0, 1, 1.0, 1)).metrics is None


def test_rows_group_a_cluster_under_its_app() -> None:
    """Apps sorted by name; a cluster gets a header row standing for every instance."""
    feed = Feed()
    web = spec("web", instances=2)
    for pm_id, app in ((2, spec("api")), (0, web), (1, web)):
        feed.take(StateChanged(info(pm_id, app, ProcessState.ONLINE), T0))
    rows = feed.board.rows()
    assert [(r.key, r.target) for r in rows] == [
        ("id:2", "2"),
        ("app:web", "web"),
        ("id:0", "0"),
        ("id:1", "1"),
    ]
    assert rows[1].ids == (0, 1) and rows[3].last_in_group


def test_history_that_repeats_live_lines_is_not_shown_twice() -> None:
    """Files read after the stream began end with the first live lines: those are dropped."""
    store = LogStore()
    store.add(0, ["12:00:01 web[0] | two", "12:00:01 web[0] ! oops", "12:00:02 web[0] | three"])
    history = [
        "         web[0] | zero",
        "         web[0] | one",
        "         web[0] | two",
        "         web[0] ! oops",
    ]
    store.add_history(0, history)
    assert [line[9:] for line in store.view([0])] == [
        "web[0] | zero",
        "web[0] | one",
        "web[0] | two",
        "web[0] ! oops",
        "web[0] | three",
    ]
    assert len(store.view([0])) == 5
