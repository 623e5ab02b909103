"""Sparklines a reader can compare, and pane values that are never cut."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.color import Color

from corral.engine.events import RestartReason
from corral.engine.states import ProcessState
from corral.tui.colours import Colours, contrast
from corral.tui.spark import LINE, cpu_top, levels, limit_row, memory_top, spark
from corral.tui.widgets.app_pane import fit, limit_text, restart_texts
from corral.tui.widgets.process_table import instance_name
from tests.tui.scripted import T0, MiB, info, spec


def test_flat_series_are_drawn_at_their_height_not_full() -> None:
    """A flat 9M line is half the height of a flat 18M one (shared scale: the largest peak)."""
    peak = 18 * MiB
    low = spark(levels([9.0 * MiB] * 5, memory_top(None, peak), 5))
    high = spark(levels([18.0 * MiB] * 5, memory_top(None, peak), 5))
    assert high == "█████"
    assert low in ("▄▄▄▄▄", "▅▅▅▅▅")


def test_a_leaker_is_drawn_against_its_limit() -> None:
    """10.5M of a 60M limit is a low bar, not a full one; over the limit is full."""
    top = memory_top(60 * MiB, 10.5 * MiB)
    assert spark(levels([10.5 * MiB], top, 1)) == "▂"
    assert spark(levels([61.0 * MiB], top, 1)) == "█"


def test_the_limit_is_a_line_above_bars_scaled_to_it() -> None:
    """A leaker at 10.5M of 60M, beside an app with a 100M peak: its bars are on its own
    limit's scale, the row above is the limit as an unbroken line, and only the sample
    that went over breaks through it."""
    limit, peak = 60 * MiB, 100 * MiB
    series = [10.5 * MiB, 30 * MiB, 59 * MiB, 60 * MiB, 61 * MiB, 90 * MiB]
    shares = levels(series, memory_top(limit, peak), len(series))
    assert spark(shares) == "▂▅████"
    assert limit_row(shares) == LINE * 4 + "▁" + "▅"
    # Without the limit the same series is drawn on the largest peak: the line would lie.
    assert spark(levels(series, memory_top(None, peak), len(series))) == "▂▃▅▅▅▇"


def test_cpu_is_drawn_from_0_to_100_per_core() -> None:
    assert cpu_top([3.0, 12.0]) == 100.0
    assert cpu_top([150.0]) == 200.0
    assert spark(levels([50.0], cpu_top([50.0]), 1)) in ("▄", "▅")


def test_values_and_reasons_are_never_cut() -> None:
    """`memory 60.6M > limit 60M` keeps its numbers in a 44-column pane; words go first."""
    assert limit_text(60 * MiB) == "limit 60M"
    for limit in (1023 * MiB, 1536 * MiB, 100 * 1024 * MiB, 1023 * 1024 * MiB):
        assert len(limit_text(limit)) <= 13
    reason = RestartReason(T0, "memory", "memory 60.6M > limit 60M")
    leaker = info(4, spec("leaker"), ProcessState.ONLINE, restarts=12, reasons=(reason,))
    for room in (44, 30, 20):
        text = fit(restart_texts(leaker), room)
        assert len(text) <= room
        assert "60.6M" in text and "60M" in text and "↺ 12" in text


def test_instance_names_keep_their_index() -> None:
    """A long app name is shortened in the table, never the instance's `:12`."""
    name = instance_name("showcase-production-api", 12, False, 16)
    assert name.endswith(":12") and len(name) <= 16 and name.startswith("├ showcase")
    assert instance_name("web", 1, True, 16) == "└ web:1"


@pytest.mark.parametrize(
    "theme", ["textual-dark", "textual-light", "nord", "gruvbox", "solarized-light"]
)
def test_app_colours_are_readable(theme: str) -> None:
    """Every app colour has a contrast of 4.5:1 or more against the tail's background,
    and no two apps share one (the demo's fourth app was dark blue on dark grey)."""
    app = App[None]()
    app.theme = theme
    variables = app.get_css_variables()
    colours = Colours(variables)
    ground = Color.parse(variables["background"]) + Color.parse(variables["surface"])
    names = [f"app{n}" for n in range(len(colours.apps))]
    seen = set()
    for name in names:
        colour = colours.app(name).color
        assert colour is not None and colour.triplet is not None
        rgb = Color(*colour.triplet)
        assert contrast(rgb, ground) >= 4.5, f"{theme}: {name} {rgb.hex} on {ground.hex}"
        seen.add(rgb.hex)
    assert len(seen) == len(names) >= 4
