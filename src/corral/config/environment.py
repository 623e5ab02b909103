"""Provides the child's environment: the user's own, then the config's layers over it.

`user_environ` undoes what Python itself adds at start-up: with no locale set, Python
coerces the C locale (PEP 538) by setting `LC_CTYPE=C.UTF-8` in its own environment,
which would leak into every app corral starts. Apps get exactly what the user had.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

INHERITED = "inherited"
"""Origin of a variable taken from the environment corral was started in."""

_COERCED = "LC_CTYPE"


def _initial_names() -> set[bytes] | None:
    """Names in the environment this process was exec'd with (Linux), else None.

    /proc/self/environ is the block the kernel gave us; Python's setenv does not touch it.
    """
    try:
        with open("/proc/self/environ", "rb") as handle:
            block = handle.read()
    except OSError:
        return None
    return {entry.partition(b"=")[0] for entry in block.split(b"\0") if entry}


def user_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """ENVIRON (default: ours) without the LC_CTYPE that Python's locale coercion added."""
    env = dict(os.environ if environ is None else environ)
    if _COERCED in env:
        initial = _initial_names()
        if initial is not None and _COERCED.encode() not in initial:
            del env[_COERCED]
    return env


def layer_env(
    base: Mapping[str, str],
    filter_env: bool | tuple[str, ...],
    filter_exact: bool,
    layers: list[tuple[str, Mapping[str, str | None]]],
) -> tuple[dict[str, str], dict[str, str]]:
    """BASE minus FILTER_ENV, then each (origin, table) of LAYERS over it, in order.

    Returns the environment and, for each variable, the layer it came from. A None value
    unsets the variable (`FOO: null`).
    """
    env = dict(base)
    if filter_env is True:
        env = {}
    elif isinstance(filter_env, tuple):
        env = {
            k: v
            for k, v in env.items()
            if not (k in filter_env if filter_exact else any(part in k for part in filter_env))
        }
    origins = dict.fromkeys(env, INHERITED)
    for origin, table in layers:
        for name, value in table.items():
            if value is None:
                env.pop(name, None)
                origins.pop(name, None)
            else:
                env[name] = value
                origins[name] = origin
    return env, origins


def json_size(value: Any) -> int:
    """Bytes of VALUE as compact JSON (how it travels to the daemon)."""
    import json

    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8", "backslashreplace"))
