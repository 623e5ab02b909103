"""Provides where keys sit in a TOML or YAML file, so key-level problems carry line:column.

Positions are a convenience for messages, never needed for correctness: the TOML scan is
a cheap line-based pass over headers and `key =` lines and simply misses what it does not
understand (inline tables, keys inside arrays); YAML uses the parser's own node marks.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from yaml.nodes import Node

Path = tuple[str | int, ...]
"""Keys and list indexes from the document's root, e.g. ("apps", 0, "script")."""
Positions = dict[Path, tuple[int, int]]
"""1-based (line, column) of each located key."""

_MAX_DEPTH = 4  # root / apps / index / key is all messages need
_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"\s*((?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*'))*)\s*="
)


def _split_dotted(dotted: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", dotted)]


def toml_positions(text: str) -> Positions:
    """Locate table headers and `key = value` lines, with `[[apps]]` entries numbered."""
    positions: Positions = {}
    counters: dict[str, int] = {}
    section: Path | None = ()
    in_string = False
    for number, line in enumerate(text.splitlines(), 1):
        quotes = line.count('"""') + line.count("'''")
        if in_string:
            in_string = quotes % 2 == 0
            continue
        in_string = quotes % 2 == 1
        header = _HEADER.match(line)
        if header:
            parts = _split_dotted(header.group(2))
            if header.group(1) == "[[":
                if len(parts) == 1:
                    counters[parts[0]] = counters.get(parts[0], -1) + 1
                    section = (parts[0], counters[parts[0]])
                else:
                    section = None  # nested arrays of tables: not worth tracking
            elif parts[0] in counters:
                section = (parts[0], counters[parts[0]], *parts[1:])
            else:
                section = tuple(parts)
            if section is not None:
                for depth in range(1, len(section) + 1):  # `[a.b]` also locates `a`
                    positions.setdefault(section[:depth], (number, header.start(2) + 1))
            continue
        key = _KEY.match(line)
        if key and section is not None:
            path = (*section, *_split_dotted(key.group(1)))
            positions.setdefault(path, (number, key.start(1) + 1))
    return positions


def yaml_positions(root: Node) -> Positions:
    """Locate mapping keys and list items from PyYAML's composed node tree."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    positions: Positions = {}

    def walk(node: Node, path: Path) -> None:
        if len(path) >= _MAX_DEPTH:
            return
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode):
                    here = (*path, str(key_node.value))
                    mark = key_node.start_mark
                    positions.setdefault(here, (mark.line + 1, mark.column + 1))
                    walk(value_node, here)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                here = (*path, index)
                positions.setdefault(here, (item.start_mark.line + 1, item.start_mark.column + 1))
                walk(item, here)

    walk(root, ())
    return positions
