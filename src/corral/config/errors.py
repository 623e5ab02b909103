"""Provides Problem and ConfigError: every mistake in a config, located, reported at once.

Loading collects Problems instead of stopping at the first one, so a user fixing a ported
PM2 file sees the whole list in one run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake, with as much of its location as is known."""

    file: str | None
    """The config file as the user named it, or a label such as "<command line>"."""
    app: str | None
    """The app's name (or "#N" for an unnamed, scriptless app), None for file-level problems."""
    key: str | None
    """The attribute as written in the file (an alias stays an alias)."""
    message: str
    line: int | None = None
    """1-based line, when the format gives it cheaply."""
    column: int | None = None
    """1-based column, when known."""

    def __str__(self) -> str:
        parts: list[str] = []
        where = self.file or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if where:
            parts.append(where)
        if self.app is not None:
            parts.append(f"app {self.app!r}")
        if self.key is not None:
            parts.append(f"key {self.key!r}")
        parts.append(self.message)
        return ": ".join(parts)


class ConfigError(Exception):
    """A config could not be loaded; `problems` lists every reason found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)
