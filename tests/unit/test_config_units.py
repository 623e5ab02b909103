"""Tests for the memory and duration parsers (examples plus hypothesis properties)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.config import parse_duration, parse_memory

UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
TIMES = {"": 1, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (512, 512),
        ("512", 512),
        ("300K", 300 * 1024),
        ("200m", 200 * 1024**2),
        ("3G", 3 * 1024**3),
        ("3gb", 3 * 1024**3),
        ("1.5G", int(1.5 * 1024**3)),
        (" 10 MB ", 10 * 1024**2),
        ("64B", 64),
        (0, 0),
        (2048.0, 2048),
    ],
)
def test_memory_examples(value: object, expected: int) -> None:
    assert parse_memory(value) == expected


@pytest.mark.parametrize(
    "value", ["3Q", "", "G", "-1", -1, "1T", "1.5.2M", True, None, [1], 1.5, "M3"]
)
def test_memory_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="not a memory size"):
        parse_memory(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (500, 500),
        (1.4, 1),
        ("500", 500),
        ("500ms", 500),
        ("1.5s", 1500),
        ("2m", 120_000),
        ("1h", 3_600_000),
        ("2M", 120_000),
        (" 3 s ", 3000),
    ],
)
def test_duration_examples(value: object, expected: int) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", ["soon", "", "1d", "-5s", -1, "1.5.0s", "s", True, None, {}])
def test_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(value)


@given(st.integers(0, 10**6), st.sampled_from(sorted(UNITS)), st.booleans(), st.booleans())
def test_memory_round_trip(number: int, unit: str, lower: bool, suffix_b: bool) -> None:
    text = f"{number}{unit.lower() if lower else unit}{'B' if suffix_b and unit else ''}"
    assert parse_memory(text) == number * UNITS[unit]


@given(st.integers(0, 10**5), st.sampled_from(sorted(UNITS)), st.sampled_from(sorted(UNITS)))
def test_memory_monotonic_in_unit(number: int, small: str, big: str) -> None:
    if UNITS[small] <= UNITS[big]:
        assert parse_memory(f"{number}{small}") <= parse_memory(f"{number}{big}")


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_memory_monotonic_in_number(a: int, b: int) -> None:
    assert (parse_memory(f"{a}M") <= parse_memory(f"{b}M")) == (a <= b)


@given(st.integers(0, 10**6), st.sampled_from(sorted(TIMES)))
def test_duration_round_trip(number: int, unit: str) -> None:
    assert parse_duration(f"{number}{unit}") == number * TIMES[unit]


@given(st.floats(0, 10**9, allow_nan=False))
def test_duration_numbers_are_ms(number: float) -> None:
    assert parse_duration(number) == round(number)


@given(st.text(alphabet="acdefjlnopqrtuvwxyz!@#$%^&*_=+[]{};'\"<>?/\\|`~", min_size=1))
def test_junk_is_rejected(junk: str) -> None:
    for parse in (parse_memory, parse_duration):
        with pytest.raises(ValueError, match=r"^not a "):
            parse(junk)
        with pytest.raises(ValueError, match=r"^not a "):
            parse(f"1{junk}")
