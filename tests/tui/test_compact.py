"""The compact layout: 50 processes at 120x40, chosen when panes do not fit, `c` toggles."""

from __future__ import annotations

from corral.engine.events import Event
from corral.tui.app import CorralApp, make_app
from corral.tui.layout import wants_compact
from tests.tui.pilot import settle
from tests.tui.scripted import NOW, ScriptedAPI, many


def app_of(events: list[Event]) -> CorralApp:
    return make_app(ScriptedAPI(events), clock=lambda: NOW, history_lines=0)


def test_the_rule() -> None:
    """The demo keeps its panes; 15 processes at 120x40 or 8 at 80x24 do not."""
    assert not wants_compact(6, 5, 120, 40, 100)
    assert not wants_compact(6, 5, 80, 24, 100)
    assert not wants_compact(6, 5, 100, 30, 100)
    assert wants_compact(15, 15, 120, 40, 100)
    assert wants_compact(50, 50, 120, 40, 100)
    assert wants_compact(9, 9, 80, 24, 100)


async def test_fifty_processes_fit_at_120x40() -> None:
    """All 50 apps are on screen at once, in two columns, the tail still below them."""
    app = app_of(many())
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.compact_mode and app.compact.display and not app.table.display
        text = "\n".join(app.compact.lines)
        assert all(f"svc-{n:02d}" in text for n in range(50))
        region = app.compact.region
        assert region.bottom <= 40 - 6, "room is left for the tail"
        assert app.compact.virtual_size.height <= app.compact.scrollable_content_region.height
        assert app.tail.region.height >= 5
        assert "✖" in text  # svc-07 errored


async def test_c_toggles_and_the_selection_follows() -> None:
    """`c` switches to the table and panes and back; keys act on the same app."""
    app = app_of(many(20))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.compact_mode
        await pilot.press("down", "down", "right")
        row = app.compact.selected
        assert row is not None
        await pilot.press("c")
        await settle(pilot)
        assert not app.compact_mode and app.table.display
        selected = app.table.selected
        assert selected is not None and selected.name == row.name
        await pilot.press("c")
        await settle(pilot)
        assert app.compact_mode
        again = app.compact.selected
        assert again is not None and again.name == row.name
