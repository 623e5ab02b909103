"""Provides the records of resolving an app: its Context, the Draft being resolved, and
what comes out (Resolved, with the Origin of every setting).

Kept apart from build.py, which holds the phases, so the phases read as one story.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.config.envfile import EnvFile, Layer
from corral.config.errors import Problem
from corral.config.schema import AppKeys
from corral.config.spec import AppSpec

Locate = Callable[[str | None], tuple[int, int] | None]
Report = Callable[[str | None, str], None]


def _nowhere(_key: str | None) -> tuple[int, int] | None:
    return None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one resolved setting came from."""

    kind: str
    """"file", "cli", "profile", "default" or "derived"."""
    detail: str = ""
    """The key as written, or why a derived value is what it is."""

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


DEFAULT = Origin("default")


@dataclass(frozen=True, slots=True)
class Context:
    """What resolving an app needs beyond the app itself."""

    label: str
    """The file as the user named it (or "<command line>"), for messages."""
    base_dir: str
    """Folder a relative `cwd` is resolved against, and the default cwd."""
    base_env: Mapping[str, str]
    env_profile: str | None = None
    source: str | None = None
    deploy_env: Mapping[str, str | None] = field(default_factory=dict)
    """`deploy.<profile>.env`, layered under the app's own env (as PM2 does)."""
    locate: Locate = _nowhere
    """Line and column of a key of this app (None: of the app itself), when known."""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """Attributes given on the command line, over the file's (`start FILE --no-autostart`)."""
    origin: str = "file"
    """Where the app's own keys come from: "file", or "cli" for `corral start SCRIPT`."""
    env_files: tuple[EnvFile, ...] = ()
    """The ecosystem's top-level `env_file`, under every app's own."""
    env_file_layers: tuple[Layer, ...] = ()
    """What those files hold, read once for every app (envfile.read_env_files)."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """An app as resolved, with where each of its settings came from."""

    spec: AppSpec
    origins: dict[str, Origin]
    """AppSpec field -> its origin; a field not here has AppSpec's default."""
    env_origins: dict[str, str]
    """Variable -> the layer that set it: inherited, deploy.P.env, env, env_P, port, corral."""
    warnings: tuple[Problem, ...] = ()
    """What was accepted but may not be what was meant."""


class Draft:
    """An app being resolved: the values settled so far and their origins."""

    def __init__(self, keys: AppKeys, ctx: Context, report: Report) -> None:
        self.keys = keys
        self.ctx = ctx
        self.report = report
        self.values: dict[str, Any] = {}
        self.origins: dict[str, Origin] = {}
        self.warnings: list[tuple[str | None, str]] = []

    def written(self, canonical: str) -> str:
        """The key as the file spells it (`cmd` for script), for messages."""
        entry = self.keys.attrs.get(canonical)
        return entry.key if entry else canonical

    def derive(self, canonical: str, value: Any, why: str) -> None:
        self.values[canonical] = value
        self.origins[canonical] = Origin("derived", why)

    def warn(self, key: str | None, message: str) -> None:
        self.warnings.append((key, message))
