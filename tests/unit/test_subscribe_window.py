"""A subscriber chooses how long the daemon gathers events into one message."""

from __future__ import annotations

import pytest

from corral.daemon.server import BATCH_WINDOW_S, batch_window


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        (None, BATCH_WINDOW_S),
        (100, 0.1),
        (0, 0.001),
        (5000, 1.0),
        (2.5, 0.0025),
        ("100", BATCH_WINDOW_S),
        (True, BATCH_WINDOW_S),
    ],
)
def test_batch_window_is_clamped_and_defaults(given: object, seconds: float) -> None:
    assert batch_window(given) == pytest.approx(seconds)
