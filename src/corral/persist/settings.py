"""Provides Settings: the daemon-wide options in `$CORRAL_HOME/corral.toml`.

    autosave = true   # save dump.json after every change to the process list (default)

Only the daemon reads it, once at start (`corral kill` then any verb applies a change).
A file that does not parse, or a wrong value, leaves the defaults in place and says why
in daemon.log: a typo must not stop the daemon that brings the apps back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

FILE = "corral.toml"


@dataclass(frozen=True, slots=True)
class Settings:
    """What corral.toml says, defaults filled in."""

    autosave: bool = True
    """Save the dump after every change to the process list or to a desired state."""
    problems: tuple[str, ...] = field(default=())
    """What was wrong with the file (the defaults were used instead)."""


def load(root: str) -> Settings:
    """The settings of the home ROOT (defaults when it has no corral.toml)."""
    path = os.path.join(root, FILE)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        return Settings(problems=(f"{path}: {exc}; using the defaults",))
    import tomllib  # only when the file exists: the parser costs an idle daemon ~0.5 MiB

    try:
        data = tomllib.loads(raw.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return Settings(problems=(f"{path}: {exc}; using the defaults",))
    problems = [f"{path}: unknown key {key!r}" for key in data if key != "autosave"]
    autosave = data.get("autosave", True)
    if not isinstance(autosave, bool):
        problems.append(f"{path}: autosave must be true or false; using true")
        autosave = True
    return Settings(autosave=autosave, problems=tuple(problems))
