"""Provides config loading: ecosystem files (TOML, JSON, YAML, JS) -> validated AppSpecs.

Only the standard library is imported here; YAML and JSON5 parsers load on first use,
since the CLI imports this package on every command.
"""

from __future__ import annotations

from corral.config.build import spec_from_mapping
from corral.config.coerce import DEV_NULL, LOG_FILE_DEFAULT
from corral.config.errors import ConfigError, Problem
from corral.config.load import Ecosystem, find_default_config, load_ecosystem
from corral.config.spec import AppSpec
from corral.config.units import parse_duration, parse_memory

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
