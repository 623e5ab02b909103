"""Provides `main`, the `corral` entry point: parse the verb, hand it to its module.

Verb modules are imported only when their verb runs, so `corral list` pays for the
list code and nothing else (the TUI is never imported by a verb that needs no UI).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

from corral import __version__


class VerbModule(Protocol):
    """What each `corral.cli.<module>` provides."""

    def register(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


VERB_MODULES: tuple[str, ...] = ("up",)
"""Modules under corral.cli that register verbs; each sets `module` on its parsers."""


class UsageError(Exception):
    """Bad usage found after parsing; exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corral",
        description="A process manager with a live terminal UI: PM2's verbs, for any program.",
    )
    parser.add_argument("-v", "--version", action="version", version=f"corral {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in VERB_MODULES:
        module: VerbModule = importlib.import_module(f"corral.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; returns the exit code (0 ok, 1 failed, 2 bad usage or config)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "module", None):
        parser.print_help(sys.stderr)
        return 2
    module: VerbModule = importlib.import_module(args.module)
    try:
        return module.run(args)
    except UsageError as exc:
        print(f"corral: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
