"""docs/config.md against the schema and the limits: a key or bound in code is in the docs.

The attribute table is the reference a PM2 user ports a file with; these tests fail when
a key is added to config/schema.py (or a limit to config/limits.py) without a row, or
when a key that acts is still listed as "accepted and ignored".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corral.config import limits
from corral.config.schema import ALIASES, IGNORED, KINDS, UNSUPPORTED

DOC = (Path(__file__).parents[2] / "docs" / "config.md").read_text()
ROWS = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z_<>]+)` \|([^\n]*)", DOC, re.M)}
"""Attribute table rows: key -> the rest of its row."""


def ignored_paragraph() -> str:
    start = DOC.index("accepted and ignored")
    return DOC[start : DOC.index("\n\n", start)]


@pytest.mark.parametrize("key", sorted(KINDS))
def test_every_attribute_has_a_row(key: str) -> None:
    assert key in ROWS, f"docs/config.md has no `| `{key}` |` row in the attribute table"


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_every_alias_is_in_its_attribute_row(alias: str) -> None:
    row = ROWS.get(ALIASES[alias], "")
    assert f"`{alias}`" in row.split("|")[0], f"`{alias}` missing from the {ALIASES[alias]} row"


@pytest.mark.parametrize("key", sorted({*IGNORED, *UNSUPPORTED}))
def test_ignored_and_refused_keys_are_named(key: str) -> None:
    assert f"`{key}`" in DOC


def test_no_attribute_that_acts_is_listed_as_ignored() -> None:
    acting = [key for key in KINDS if f"`{key}`" in ignored_paragraph()]
    assert not acting, f"listed as ignored in docs/config.md but they act: {acting}"


def test_the_ignored_list_is_exactly_schema_ignored() -> None:
    listed = set(re.findall(r"`([A-Za-z0-9_]+)`", ignored_paragraph()))
    assert listed - {"IGNORED"} == set(IGNORED)


def _shown(value: int) -> set[str]:
    """The ways docs may write VALUE: 1,024 / 1024 / 4 MiB / 256 KiB."""
    forms = {f"{value:,}", str(value)}
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if value % size in (0, size - 1):
            forms.add(f"{(value + 1) // size if value % size else value // size} {unit}")
    return forms


LIMITS = {
    name: value
    for name, value in vars(limits).items()
    if name.startswith("MAX_") and isinstance(value, int)
}


@pytest.mark.parametrize("name", sorted(LIMITS))
def test_every_limit_is_in_the_limits_table(name: str) -> None:
    table = DOC[DOC.index("## Limits") :]
    table = table[: table.find("\n## ", 1) if "\n## " in table[1:] else None]
    assert any(form in table for form in _shown(LIMITS[name])), (
        f"limits.{name} = {LIMITS[name]} is not in docs/config.md's Limits table"
    )


def test_exec_mode_row_tells_the_node_rule() -> None:
    assert "Node app with `instances`" in ROWS["exec_mode"]
