"""One set of formatters for the CLI and the TUI: figures read the same everywhere."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from corral.figures import config_text, duration_text, size_text, uptime_text
from corral.tui.widgets.details import config_rows
from tests.tui.scripted import spec


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (False, "false"), (None, "-"), (("a", "b"), "a, b"), (300, "300")],
)
def test_config_values_read_as_the_config_spells_them(value: object, text: str) -> None:
    assert config_text(value) == text


def test_details_print_config_spelling() -> None:
    """`autorestart` reads `true`, the memory limit `300M` (not Python's True, not bytes)."""
    rows = dict(config_rows(spec("web", max_memory_restart=300 * 1024**2)))
    assert rows["autorestart"].startswith("true,")
    assert rows["memory limit"] == "300M"


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: uptime_text(3 * 3600 + 5), "3h"),
        (lambda: uptime_text(-4), "0s"),
        (lambda: size_text(60 * 1024**2), "60M"),
        (lambda: size_text(63_550_000), "60.6M"),
        (lambda: duration_text(2200), "2.2 s"),
        (lambda: duration_text(850), "850 ms"),
    ],
)
def test_figures(call: Callable[[], str], text: str) -> None:
    assert call() == text
