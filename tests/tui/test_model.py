"""The TUI's pure parts: making app output safe, the bounded stores, the table's rows."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from rich.cells import cell_len

from corral.engine.events import Lagged, LogLines, MetricsSample, Removed, StateChanged
from corral.engine.states import ProcessState
from corral.tui.feed import Feed
from corral.tui.history import recent_lines
from corral.tui.logtext import MAX_LINE_CHARS, clean
from corral.tui.model import POINTS, LogStore
from corral.tui.records import RULE, Kind, LogRecord, Stamper, layout
from corral.tui.widgets.log_tail import line_width
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


def rec(text: str, pm_id: int = 0, kind: Kind = "out", *, earlier: bool = False) -> LogRecord:
    """A record of app `web` (history has no time)."""
    return LogRecord(None if earlier else T0, "web", pm_id, kind, text, earlier=earlier)


def texts(records: list[LogRecord]) -> list[str]:
    return [r.text for r in records]


def test_log_store_is_bounded_and_orders_history_first() -> None:
    """Each process keeps its last N lines; history read late still comes first, ruled off."""
    store = LogStore(per_process=3)
    store.add(0, [rec("a1"), rec("a2")])
    store.add(1, [rec("b1", 1)])
    store.add(0, [rec("a3"), rec("a4")])
    assert texts(store.view(None)) == ["a2", "b1", "a3", "a4"]
    store.add_history(1, [rec("old", 1, earlier=True)])
    assert store.view([1]) == [rec("old", 1, earlier=True), RULE, rec("b1", 1)]
    assert texts(store.view(None, query="A3")) == ["a3"]


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
    assert all(r.id == 2 for r in feed.visible_lines() if r.app)
    feed.take(Removed(0, "web", T0))
    assert 0 not in feed.board.procs
    assert feed.take(MetricsSample(0, T0, 1.0, 1, 1.0, 1)).metrics is None


def test_a_gap_in_the_stream_is_shown_in_the_tail() -> None:
    """The daemon dropped events this slow monitor could not take: the tail says how many."""
    feed = Feed()
    assert feed.take(Lagged(1234, 5, T0)).lines == 1
    (record,) = feed.take_pending()
    assert record.kind == "warn" and "missed 1234 log lines and 5 other events" in record.text


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
    store.add(0, [rec("two"), rec("oops", kind="err"), rec("three")])
    history = ["zero", "one", "two"]
    store.add_history(
        0, [rec(t, earlier=True) for t in history] + [rec("oops", 0, "err", earlier=True)]
    )
    assert texts(store.view([0])) == ["zero", "one", RULE.text, "two", "oops", "three"]


def test_layout_formats_at_render() -> None:
    """A record becomes `HH:MM:SS name[id] mark text`; unknown times are blank and dimmed."""
    stamper = Stamper()
    line, spans = layout(LogRecord(T0, "web", 0, "err", "boom"), stamper)
    assert line == "14:13:20 web[0] ! boom"
    assert [role for *_, role in spans] == ["stamp", "app", "err"]
    line, spans = layout(LogRecord(None, "web", None, "out", "old", earlier=True), stamper)
    assert line == "         web | old"
    assert spans == [(0, len(line), "earlier")]
    line, _ = layout(LogRecord(T0, "", None, "warn", "stopping"), stamper)
    assert line == "14:13:20 [corral] ▲ stopping"


@pytest.mark.parametrize(
    "record",
    [
        LogRecord(T0, "web", 0, "err", "boom"),
        LogRecord(T0, "web", None, "out", "日本語のログ: wide characters"),
        LogRecord(None, "web", None, "out", "old", earlier=True),
        LogRecord(T0, "", None, "warn", "stopping"),
        LogRecord(T0, "café-api", 12, "info", "started (pid 12)"),
        LogRecord(T0, "web", 3, "error", "✖ errored: 16 unstable restarts"),
        RULE,
    ],
)
def test_tail_counts_a_line_width_without_laying_it_out(record: LogRecord) -> None:
    """The tail's width (its horizontal scroll) comes from `line_width` on arrival; it
    must be the width of the line `layout` draws later, or long lines would be cut."""
    line, _ = layout(record, Stamper())
    assert line_width(record) == cell_len(line)


def test_history_keeps_what_the_files_know(tmp_path: Path) -> None:
    """Stamps become times, JSON becomes lines like live ones, merged files claim no instance."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "api-out.log").write_text(
        json.dumps(
            {
                "message": "listening",
                "timestamp": "2026-12-05T10:01:02.123+00:00",
                "type": "out",
                "process_id": 3,
                "app_name": "api",
            }
        )
        + "\n"
    )
    api = spec("api", log_type="json")
    [record] = recent_lines(api, 3, str(tmp_path), 10)
    assert (record.text, record.id, record.kind) == ("listening", 3, "out")
    assert record.ts == time.mktime((2026, 12, 5, 10, 1, 2, 0, 0, -1))

    (logs / "web-out.log").write_text("2026-12-05T10:00:00: up\n2026-12-05T10:00:05: ready\n")
    (logs / "web-error.log").write_text("2026-12-05T10:00:03: warn\n")
    web = spec("web", time=True)
    records = recent_lines(web, 0, str(tmp_path), 10)
    assert texts(records) == ["up", "warn", "ready"], "merged by their stamps"
    assert all(r.ts is not None and r.id == 0 for r in records)

    (logs / "many-out.log").write_text("plain\n")
    many = spec("many", instances=2, merge_logs=True)
    [record] = recent_lines(many, 0, str(tmp_path), 10)
    assert (record.ts, record.id, record.who()) == (None, None, "many")
