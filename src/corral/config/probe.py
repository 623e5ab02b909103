"""Provides `probe`: a `readiness_probe` or `liveness_probe` table checked and made a Probe.

A probe is one of `http = URL`, `tcp = "host:port"` or `exec = "command"`, with the
timing knobs Kubernetes and process-compose use (`initial_delay`, `period`, `timeout`,
`success_threshold`, `failure_threshold`; durations as everywhere in corral). Each
sub-key may be written in camelCase too, as every other key may. A mistake names the
sub-key, and the caller adds the file, the app and the probe's own key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from corral.config.spec import Probe
from corral.config.units import parse_duration

KINDS = ("http", "tcp", "exec")
TIMINGS = ("initial_delay", "period", "timeout")
THRESHOLDS = ("success_threshold", "failure_threshold")
MIN_PERIOD_MS = 100
"""More than ten attempts a second costs more than it tells."""

_SPELLINGS: dict[str, str] = {}
for _key in (*KINDS, *TIMINGS, *THRESHOLDS):
    _SPELLINGS[_key] = _key
    _camel = "".join(w.capitalize() if i else w for i, w in enumerate(_key.split("_")))
    _SPELLINGS[_camel] = _key


def probe(value: object) -> Probe:
    """A Probe from a table (`{ http = URL, period = "2s" }`) or a bare http:// URL."""
    from corral.config.coerce import describe, url

    if isinstance(value, str) and value.startswith("http://"):
        return Probe("http", url(value))
    if not isinstance(value, Mapping):
        raise ValueError(
            "must be a table with one of http, tcp or exec "
            f'(e.g. {{ tcp = "127.0.0.1:5432" }}), not {describe(value)}'
        )
    fields: dict[str, Any] = {}
    for written, item in value.items():
        key = _SPELLINGS.get(str(written))
        if key is None:
            from corral.config.schema import suggest

            raise ValueError(
                f"unknown key {str(written)!r}{suggest(str(written), list(_SPELLINGS))}"
            )
        if key in fields:
            raise ValueError(f"{key!r} is given twice")
        fields[key] = _value(key, item)
    kinds = [k for k in KINDS if k in fields]
    if len(kinds) != 1:
        given = " and ".join(kinds) if kinds else "none"
        raise ValueError(f"needs exactly one of http, tcp or exec (given: {given})")
    kind = kinds[0]
    target = fields.pop(kind)
    return Probe(kind, target, **fields)  # type: ignore[arg-type]


def _value(key: str, item: object) -> object:
    from corral.config.coerce import integer, url

    try:
        if key == "http":
            return url(item)
        if key == "tcp":
            return tcp_address(item)
        if key == "exec":
            return exec_command(item)
        if key in THRESHOLDS:
            number = integer(item)
            if number < 1:
                raise ValueError(f"must be at least 1, not {number}")
            return number
        ms = parse_duration(item)
        if key == "period" and ms < MIN_PERIOD_MS:
            raise ValueError(f"must be at least {MIN_PERIOD_MS} ms, not {ms} ms")
        if key == "timeout" and ms < 1:
            raise ValueError("must be more than 0")
        return ms
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


def tcp_address(item: object) -> str:
    """`host:port` (`[::1]:port` for IPv6); `:port` and a bare port mean 127.0.0.1."""
    from corral.config.coerce import text

    raw = text(item).strip()
    if raw.isdigit() or raw.startswith(":"):
        raw = "127.0.0.1:" + raw.lstrip(":")
    host, sep, port = raw.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT, not {raw!r}")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{raw!r}: port must be 1-65535")
    return raw


def split_address(address: str) -> tuple[str, int]:
    """`host:port` (as tcp_address leaves it) -> (host, port); `[::1]` loses its brackets."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def exec_command(item: object) -> str:
    """A shell command; a list of words is quoted into one (it runs as `sh -c`)."""
    import shlex

    from corral.config.coerce import strings, text

    if isinstance(item, list | tuple):
        words = strings(item)
        if not words:
            raise ValueError("must not be empty")
        return shlex.join(words)
    return text(item)
