"""Provides how corral writes figures for people: uptimes, sizes, durations, config values.

One module for the CLI (`corral list`, `describe`) and the TUI, so the same process reads
the same in both (`212M` in the table, the pane and `corral list`; `3h` everywhere).
Sizes are written as the config spells them (`max_memory_restart = "300M"`), so a limit
and the usage it is compared with look alike. Imports nothing: `corral list` stays light.
"""

from __future__ import annotations

from typing import Any

_UPTIME_STEPS = (
    (60, "s", 1),
    (3600, "m", 60),
    (86400, "h", 3600),
    (86400 * 30, "D", 86400),
    (86400 * 365, "M", 86400 * 30),
)


def uptime_text(seconds: float) -> str:
    """PM2's compact uptime: 45s, 12m, 3h, 2D, 4M, 1Y."""
    whole = max(0, int(seconds))
    for limit, unit, size in _UPTIME_STEPS:
        if whole < limit:
            return f"{whole // size}{unit}"
    return f"{whole // (86400 * 365)}Y"


def size_text(size: float) -> str:
    """Bytes in the config's units (powers of 1024): 212M, 1.5G, 512K, 900B."""
    value, unit = float(size), "B"
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            break
        value /= 1024
    if value >= 100 or value.is_integer():
        return f"{value:.0f}{unit}"
    return f"{value:.1f}{unit}"


def duration_text(ms: float) -> str:
    """A span of time for a sentence: 850 ms, 2.2 s, 3.5 min."""
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def config_text(value: object) -> str:
    """A config value as the ecosystem file spells it: `true`, not Python's `True`."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(config_text(v) for v in value) or "[]"
    return str(value)


def span_text(ms: float) -> str:
    """A configured span as the config would spell it: 1s, 2.5s, 200ms, 3m."""
    if ms >= 60_000 and ms % 60_000 == 0:
        return f"{ms / 60_000:g}m"
    if ms >= 1000:
        return f"{ms / 1000:g}s"
    return f"{ms:g}ms"


def probe_text(probe: Any) -> str:
    """A probe's settings in one line (a Probe or its dict form, as RPC carries it):
    `GET http://…/health every 2s, timeout 1s, fails after 3`."""

    def get(key: str) -> Any:
        return probe[key] if isinstance(probe, dict) else getattr(probe, key)

    verb = {"http": "GET", "tcp": "connect", "exec": "exec"}.get(get("kind"), get("kind"))
    parts = [f"{verb} {get('target')} every {span_text(get('period'))}"]
    parts.append(f"timeout {span_text(get('timeout'))}")
    if get("initial_delay"):
        parts.append(f"first after {span_text(get('initial_delay'))}")
    if get("success_threshold") != 1:
        parts.append(f"passes after {get('success_threshold')}")
    parts.append(f"fails after {get('failure_threshold')}")
    return ", ".join(parts)


def probe_state_text(status: Any) -> str:
    """Where a probe stands (a ProbeStatus or its dict form), for describe and the TUI:
    `✓ ok`, `… pending`, `✖ 2 failed in a row: GET … timed out after 1s`."""

    def get(key: str) -> Any:
        return status[key] if isinstance(status, dict) else getattr(status, key)

    failures, error = get("failures"), get("last_error")
    if failures:
        word = "failing" if get("verdict") == "failing" else "failed"
        return f"✖ {word}, {failures} in a row: {error}"
    if get("verdict") == "ok":
        return "✓ ok" if get("running") or get("probe") == "readiness" else "✓ ok (stopped)"
    return "… pending" if get("running") else "- not running"
