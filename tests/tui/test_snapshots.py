"""Snapshot tests: every screen and the important states, from the scripted demo data.

Fixed data, fixed clock, UTC, no animations (conftest): the SVGs only change when the UI
does. Accept a change with `pytest tests/tui --snapshot-update` after looking at it.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from corral.tui.app import CorralApp, make_app
from corral.tui.base import Source
from corral.tui.widgets.search_bar import SearchBar
from tests.tui.pilot import settle
from tests.tui.scripted import NOW, ScriptedAPI, many, stack

Snap = Callable[..., bool]


def demo(theme: str | None = None, source: Source = "monit") -> CorralApp:
    """The scripted demo app (a fresh one per test: the plugin runs it itself)."""
    return make_app(
        ScriptedAPI(),
        source=source,
        clock=lambda: NOW,
        home="/srv/corral",
        theme=theme,
        history_lines=0,
    )


def keys(*pressed: str) -> Callable[[Pilot[int]], object]:
    """A run_before that lets the script through, then presses PRESSED."""

    async def run_before(pilot: Pilot[int]) -> None:
        await settle(pilot)
        if pressed:
            await pilot.press(*pressed)
            await settle(pilot)
        for bar in pilot.app.query(SearchBar):
            bar.cursor_blink = False  # a cursor caught mid-blink would flake

    return run_before


class TestMainScreen:
    """The table, the app panes and the merged log tail."""

    def test_wide(self, snap_compare: Snap) -> None:
        """Every pane fits beside the log at 120x36; the cluster is grouped under its app."""
        assert snap_compare(demo(), terminal_size=(120, 36), run_before=keys())

    def test_80x24(self, snap_compare: Snap) -> None:
        """At 80x24 the selected app's pane goes under the table and nothing overflows."""
        assert snap_compare(demo(), terminal_size=(80, 24), run_before=keys())

    def test_memory_limit_line(self, snap_compare: Snap) -> None:
        """At 120x40 every pane fits with the leaker's memory limit drawn as a line above
        its bars (at 120x36 the line's row gives way so that every pane still fits)."""
        assert snap_compare(demo(), terminal_size=(120, 40), run_before=keys())

    def test_memory_limit_line_80x24(self, snap_compare: Snap) -> None:
        """At 80x24 the selected leaker's pane has its limit's line too."""
        assert snap_compare(demo(), terminal_size=(80, 24), run_before=keys("down"))

    def test_light_theme(self, snap_compare: Snap) -> None:
        """The light theme keeps every status and app colour readable."""
        assert snap_compare(demo("textual-light"), terminal_size=(120, 36), run_before=keys())

    def test_compact(self, snap_compare: Snap) -> None:
        """50 processes at 120x40: one line per app, two columns, the tail below."""
        app = make_app(ScriptedAPI(many()), clock=lambda: NOW, history_lines=0)
        assert snap_compare(app, terminal_size=(120, 40), run_before=keys())

    def test_wrap(self, snap_compare: Snap) -> None:
        """`w` wraps the long payload line under its text instead of cutting it."""
        assert snap_compare(demo(), terminal_size=(100, 36), run_before=keys("w"))

    def test_narrow_footer_while_searching(self, snap_compare: Snap) -> None:
        """At 80 columns the key bar shows only the search's keys while typing one."""
        assert snap_compare(demo(), terminal_size=(80, 24), run_before=keys("slash", "G"))


class TestSearch:
    """The / search box filtering the tail."""

    def test_search_typing(self, snap_compare: Snap) -> None:
        """Typing filters the tail live; the title names the search."""
        run = keys("slash", "G", "E", "T")
        assert snap_compare(demo(), terminal_size=(120, 36), run_before=run)


class TestDetails:
    """The details screen of one app."""

    def test_errored_app(self, snap_compare: Snap) -> None:
        """flaky: its config, log files, restart timeline and environment names."""
        assert snap_compare(demo(), terminal_size=(100, 40), run_before=keys("enter"))


class TestProbes:
    """A stack with readiness and liveness probes (and an app waiting for another)."""

    def stack(self) -> CorralApp:
        return make_app(ScriptedAPI(stack()), clock=lambda: NOW, history_lines=0)

    def test_failing_probe_and_waiting_app(self, snap_compare: Snap) -> None:
        """api's pane says its liveness probe failed 2 of 3 times and what failed; db's that
        its readiness probe has not passed yet; web's what it waits for."""
        assert snap_compare(self.stack(), terminal_size=(120, 30), run_before=keys())

    def test_probe_details(self, snap_compare: Snap) -> None:
        """api's details: each probe's settings and where it stands."""
        run = keys("enter")
        assert snap_compare(self.stack(), terminal_size=(100, 40), run_before=run)


class TestDialogs:
    """Help and confirmations."""

    def test_help(self, snap_compare: Snap) -> None:
        """? lists every key."""
        assert snap_compare(demo(), terminal_size=(100, 36), run_before=keys("question_mark"))

    def test_confirm_delete(self, snap_compare: Snap) -> None:
        """d asks before deleting."""
        assert snap_compare(demo(), terminal_size=(100, 30), run_before=keys("d"))
