"""Provides the unit parsers for memory sizes ("200M") and durations ("1.5s").

PM2 accepts both bare numbers and suffixed strings; these functions turn either into the
integers AppSpec stores (bytes, milliseconds) and say briefly what was wrong otherwise.
"""

from __future__ import annotations

import math
import re

_MEMORY = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([kmg]?)(?:i?b)?", re.IGNORECASE)
_MEMORY_POWERS = {"": 0, "k": 1, "m": 2, "g": 3}
_DURATION = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?", re.IGNORECASE)
_DURATION_FACTORS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def _number(value: object, bad: str) -> int | float | None:
    """The value if it is a number (never a bool), None if it is not; negative ones are errors."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value < 0 or not math.isfinite(value):
        raise ValueError(bad)
    return value


def parse_memory(value: object) -> int:
    """Bytes from an int or a string like "512", "300K", "200M", "3G" (x1024 per step).

    A trailing "B" is allowed ("200MB"); decimals are allowed and rounded down ("1.5G").
    """
    bad = f"not a memory size: {value!r} (use bytes or K/M/G)"
    number = _number(value, bad)
    if number is not None:
        if isinstance(number, float) and not number.is_integer():
            raise ValueError(bad)
        return int(number)
    if not isinstance(value, str):
        raise ValueError(bad)
    match = _MEMORY.fullmatch(value.strip())
    if match is None:
        raise ValueError(bad)
    digits, unit = match.groups()
    return int(float(digits) * 1024 ** _MEMORY_POWERS[unit.lower()])


def parse_duration(value: object) -> int:
    """Milliseconds from a number (already ms) or a string like "500", "500ms", "1.5s", "2m", "1h".

    Fractions of a millisecond are rounded to the nearest millisecond.
    """
    bad = f"not a duration: {value!r} (use milliseconds, or a number with ms/s/m/h)"
    number = _number(value, bad)
    if number is not None:
        return round(number)
    if not isinstance(value, str):
        raise ValueError(bad)
    match = _DURATION.fullmatch(value.strip())
    if match is None:
        raise ValueError(bad)
    digits, unit = match.groups()
    return round(float(digits) * _DURATION_FACTORS[(unit or "ms").lower()])
