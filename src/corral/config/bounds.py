"""Provides the structural checks a config document passes before and after parsing.

Before: the parsers recurse, so nesting deep enough to overflow Python's stack is found
by a flat scan of the text (JSON, JSON5, TOML) or of PyYAML's event stream, which also
expands aliases by size only (a "billion laughs" is refused at its first alias past the
budget) and finds duplicate keys. After: `walk` checks every parsed document against
limits.MAX_DEPTH and limits.MAX_NODES, naming the path that crossed the line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.config import limits

PARSE_DEPTH = 200
"""Nesting the parsers are allowed to see at all (Python's stack holds ~1000 frames)."""

_JSON_TOKENS = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|//[^\n]*|/\*.*?(?:\*/|\Z)|[\[\]{}]', re.DOTALL
)
_TOML_TOKENS = re.compile(
    r'"""(?:[^\\]|\\.)*?(?:"""|\Z)|\'\'\'.*?(?:\'\'\'|\Z)|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\''
    r"|#[^\n]*|[\[\]{}]",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Breach:
    """Where a document broke a bound, and how."""

    message: str
    line: int | None = None
    column: int | None = None


def _where(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _too_deep(limit: int) -> str:
    return f"nested deeper than {limit} levels"


def scan_text(text: str, toml: bool) -> Breach | None:
    """Nesting of brackets outside strings and comments, past PARSE_DEPTH."""
    if text.count("[") + text.count("{") <= PARSE_DEPTH:
        return None  # cannot be that deep: the common case costs two counts
    depth = 0
    for token in (_TOML_TOKENS if toml else _JSON_TOKENS).finditer(text):
        kind = token.group()
        if kind in ("[", "{"):
            depth += 1
            if depth > PARSE_DEPTH:
                return Breach(_too_deep(limits.MAX_DEPTH), *_where(text, token.start()))
        elif kind in ("]", "}"):
            depth = max(depth - 1, 0)
    return None


@dataclass(slots=True)
class _Frame:
    """One open YAML collection in scan_yaml."""

    anchor: str | None
    keys: set[str] | None
    """Keys seen so far, for a mapping."""
    size: int = 1
    """Values inside so far, aliases expanded, the collection itself included."""
    at_key: bool = True
    """In a mapping: the next node is a key (else a value)."""


def _mark(event: Any, message: str) -> Breach:
    mark = event.start_mark
    if mark is None:
        return Breach(message)
    return Breach(message, mark.line + 1, mark.column + 1)


def scan_yaml(text: str) -> Breach | None:
    """Depth, alias expansion and duplicate keys, from PyYAML's (non-recursive) parser."""
    import yaml
    from yaml import events

    sizes: dict[str, int] = {}
    stack: list[_Frame] = []
    done = 0  # values in finished top-level nodes

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        is_node = isinstance(
            event, events.ScalarEvent | events.AliasEvent | events.CollectionStartEvent
        )
        if is_node and stack and (seen := stack[-1].keys) is not None:
            at_key, stack[-1].at_key = stack[-1].at_key, not stack[-1].at_key
            if at_key and isinstance(event, events.ScalarEvent) and event.value != "<<":
                if event.value in seen:
                    return _mark(event, f"duplicate key {event.value!r}")
                seen.add(event.value)
        size = 0
        if isinstance(event, events.CollectionStartEvent):
            keys: set[str] | None = set() if isinstance(event, events.MappingStartEvent) else None
            stack.append(_Frame(event.anchor, keys))
            if len(stack) > PARSE_DEPTH:
                return _mark(event, _too_deep(limits.MAX_DEPTH))
        elif isinstance(event, events.CollectionEndEvent):
            closed = stack.pop()
            size = closed.size
            if closed.anchor is not None:
                sizes[closed.anchor] = size
        elif isinstance(event, events.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, events.AliasEvent):
            size = sizes.get(event.anchor or "", 1)
            if done + size + sum(frame.size for frame in stack) > limits.MAX_NODES:
                message = (
                    f"alias *{event.anchor} expands the document past {limits.MAX_NODES:,} "
                    "values (a YAML alias bomb?)"
                )
                return _mark(event, message)
        if stack:
            stack[-1].size += size
        else:
            done += size
    return None


Path = tuple[str | int, ...]


def walk(data: object) -> tuple[Path, str] | None:
    """The first path in DATA deeper than MAX_DEPTH, or where MAX_NODES values are passed.

    Iterative, and stops at the budget: shared (aliased) values are counted each time
    they appear, as every later consumer of the data would see them.
    """
    pending: list[tuple[object, Path]] = [(data, ())]
    count = 0
    while pending:
        value, path = pending.pop()
        count += 1
        if count > limits.MAX_NODES:
            return path, f"more than {limits.MAX_NODES:,} values in the document"
        if len(path) > limits.MAX_DEPTH:
            return path, _too_deep(limits.MAX_DEPTH)
        if isinstance(value, Mapping):
            pending.extend((item, (*path, str(key))) for key, item in value.items())
        elif isinstance(value, list | tuple):
            pending.extend((item, (*path, index)) for index, item in enumerate(value))
    return None
