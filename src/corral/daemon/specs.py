"""Provides `spec_from_wire`: an AppSpec from a dict a client sent, type-checked first.

The CLI validates configs properly (corral.config); this only makes sure a buggy or
hostile client cannot hand the engine a spec whose fields have the wrong types (a
number as `script` would fail deep inside a spawn). The checks follow AppSpec's own
annotations, so a new field is covered without touching this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from corral.config.spec import AppSpec


def _is_int(v: object) -> bool:
    return type(v) is int


def _seq_of(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: isinstance(v, list | tuple) and all(check(x) for x in v)


def _probe(v: object) -> bool:
    """A Probe's dict form that the config layer would accept as written."""
    from corral.config.probe import probe

    if not isinstance(v, dict) or not all(isinstance(v.get(k), str) for k in ("kind", "target")):
        return False
    table = {k: x for k, x in v.items() if k not in ("kind", "target")}
    try:
        probe({v["kind"]: v.get("target"), **table})
    except (ValueError, TypeError):
        return False
    return True


_CHECKS: dict[str, Callable[[object], bool]] = {
    "None": lambda v: v is None,
    "str": lambda v: isinstance(v, str),
    "int": _is_int,
    "bool": lambda v: isinstance(v, bool),
    "tuple[str, ...]": _seq_of(lambda v: isinstance(v, str)),
    "tuple[int, ...]": _seq_of(_is_int),
    "dict[str, str]": lambda v: (
        isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())
    ),
    "LogType": lambda v: v in ("raw", "json"),
    "ExecMode": lambda v: v in ("fork", "cluster"),
    "Probe": _probe,
}
_FIELDS = {f.name: str(f.type) for f in dataclasses.fields(AppSpec)}
_REQUIRED = ("name", "script", "cwd")


def problems(data: dict[str, Any]) -> list[str]:
    """What is wrong with DATA as an AppSpec (empty when it is fine)."""
    found = [f"{key} is required" for key in _REQUIRED if not data.get(key)]
    for key, value in data.items():
        kind = _FIELDS.get(key)
        if kind is None:
            continue
        checks = [_CHECKS.get(part.strip()) for part in kind.split("|")]
        if any(c is None for c in checks):
            continue  # a type this module does not know: AppSpec's own code decides
        if not any(c(value) for c in checks if c is not None):
            found.append(f"{key} must be {kind}, not {type(value).__name__}")
    return found


def spec_from_wire(data: object) -> AppSpec:
    """An AppSpec from DATA; ValueError naming every problem."""
    if not isinstance(data, dict):
        raise ValueError("a spec must be an object")
    wrong = problems(data)
    if wrong:
        raise ValueError("bad spec: " + "; ".join(wrong))
    if data.get("instances", 1) < 1:
        raise ValueError("bad spec: instances must be at least 1")
    return AppSpec.from_dict(data)
