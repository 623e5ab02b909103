"""docs/cli.md names every verb and flag the parser has, and HOT_VERBS matches the parser.

The parser is the truth: a verb or flag added to `corral.cli` without a word in the docs
fails here, so the README's promise ("every verb, flag and exit code is in docs/cli.md")
stays true.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from corral.cli.main import HOT_VERBS, build_parser, verbs_of

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


def _code(text: str) -> str:
    """Everything inside backticks, one span a line: where verbs and flags are written."""
    return "\n".join(re.findall(r"`([^`\n]+)`", text))


def _named(word: str, code: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", code) is not None


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [
        spelling
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction)
        for spelling in action.option_strings
    ]


def test_every_verb_and_flag_is_in_docs_cli_md() -> None:
    code = _code(DOCS.read_text())
    parser = build_parser()
    missing = [f"corral {flag}" for flag in _options(parser) if not _named(flag, code)]
    for verb, sub in verbs_of(parser).items():
        if not _named(verb, code):
            missing.append(f"verb {verb}")
        missing += [f"{verb} {flag}" for flag in _options(sub) if not _named(flag, code)]
    assert not missing, f"in the parser but not in {DOCS.name}: {sorted(set(missing))}"


def test_the_check_sees_a_missing_flag() -> None:
    """The check itself can fail: a flag written nowhere is found missing."""
    code = _code("`start --name`, `-n`")
    assert _named("--name", code) and _named("-n", code)
    assert not _named("--nam", code) and not _named("--force", code)
    assert not _named("-f", _code("`--force`")), "-f inside --force does not count"


def test_hot_verbs_are_registered_by_their_module() -> None:
    for verb, module in HOT_VERBS.items():
        assert verb in verbs_of(build_parser(module)), (verb, module)


def test_no_verb_help_is_a_code_comment() -> None:
    """`corral VERB --help` is for users: no module docstring ("Provides …") as its text."""
    leaks = [
        verb
        for verb, sub in verbs_of(build_parser()).items()
        if "Provides" in (sub.description or "") or "from __future__" in (sub.description or "")
    ]
    assert not leaks
