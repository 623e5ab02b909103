"""Provides config loading: ecosystem files (TOML, JSON, YAML, JS) -> validated AppSpecs.

The names below load on first use (PEP 562): importing any submodule runs this file
first, and the daemon needs only `corral.config.spec` and a few small modules, not the
loader, builder and checks (about 1 MiB of module code it would keep for good). Only the
standard library is used; YAML and JSON5 parsers load when such a file is read.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names, for type checkers; at run time `__getattr__` finds them
    from corral.config.build import spec_from_mapping as spec_from_mapping
    from corral.config.coerce import DEV_NULL as DEV_NULL
    from corral.config.coerce import LOG_FILE_DEFAULT as LOG_FILE_DEFAULT
    from corral.config.errors import ConfigError as ConfigError
    from corral.config.errors import Problem as Problem
    from corral.config.load import Ecosystem as Ecosystem
    from corral.config.load import find_default_config as find_default_config
    from corral.config.load import load_ecosystem as load_ecosystem
    from corral.config.spec import AppSpec as AppSpec
    from corral.config.units import parse_duration as parse_duration
    from corral.config.units import parse_memory as parse_memory

_HOMES = {
    "DEV_NULL": "coerce",
    "LOG_FILE_DEFAULT": "coerce",
    "AppSpec": "spec",
    "ConfigError": "errors",
    "Ecosystem": "load",
    "Problem": "errors",
    "find_default_config": "load",
    "load_ecosystem": "load",
    "parse_duration": "units",
    "parse_memory": "units",
    "spec_from_mapping": "build",
}

__all__ = [
    "DEV_NULL",
    "LOG_FILE_DEFAULT",
    "AppSpec",
    "ConfigError",
    "Ecosystem",
    "Problem",
    "find_default_config",
    "load_ecosystem",
    "parse_duration",
    "parse_memory",
    "spec_from_mapping",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value
