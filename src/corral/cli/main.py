"""Provides `main`, the `corral` entry point: parse the verb, hand it to its module.

Verb modules are imported only when their verb runs, so `corral list` pays for the
list code and nothing else (the TUI is never imported by a verb that needs no UI).
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from collections.abc import Sequence

from corral import __version__
from corral.daemon.trust import Untrusted

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class VerbModule(Protocol):
        """What each `corral.cli.<module>` provides."""

        def register(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...

        def run(self, args: argparse.Namespace) -> int: ...


VERB_MODULES: tuple[str, ...] = (
    "up",
    "start",
    "lifecycle",
    "show",
    "daemonctl",
    "logs",
    "deploy",
    "monit",
    "persist",
    "dial",
    "metrics",
    "init",
    "completion",
    "config",
)
"""Modules under corral.cli that register verbs; each sets `module` on its parsers."""

HOT_VERBS: dict[str, str] = {
    verb: module
    for module, verbs in (
        ("show", ("list", "ls", "l", "ps", "status", "jlist", "describe", "show", "desc")),
        ("show", ("info", "env")),
        ("lifecycle", ("stop", "restart", "reload", "delete", "del", "reset", "scale")),
        ("lifecycle", ("signal", "sendSignal")),
        ("start", ("start",)),
        ("daemonctl", ("ping", "kill", "update")),
        ("logs", ("logs", "flush", "reloadLogs")),
        ("deploy", ("deploy", "startOrRestart", "startOrReload", "startOrGracefulReload")),
        ("persist", ("save", "dump", "resurrect", "cleardump", "startup", "unstartup")),
        ("dial", ("dial-stdio",)),
        ("metrics", ("metrics",)),
        ("completion", ("completion",)),
        ("config", ("config",)),
    )
    for verb in verbs
}
"""Verbs whose module is registered alone when the verb comes first on the command line:
building every verb's parser would import what they import (asyncio for `up`), and
`corral jlist` must stay fast. A test checks this table against the registrations."""


class UsageError(Exception):
    """Bad usage found after parsing; exit code 2."""


class Failure(Exception):
    """The operation failed or its target is unknown; exit code 1 (the message says which)."""


def split_passthrough(argv: Sequence[str]) -> tuple[list[str], list[str] | None]:
    """Split at the first `--`: what argparse sees, and the arguments for the app."""
    items = list(argv)
    if "--" not in items:
        return items, None
    at = items.index("--")
    return items[:at], items[at + 1 :]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with ONLY one verb module registered (see HOT_VERBS)."""
    parser = argparse.ArgumentParser(
        prog="corral",
        description="A process manager with a live terminal UI: PM2's verbs, for any program.",
    )
    parser.add_argument("-v", "--version", action="version", version=f"corral {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name in (only,) if only else VERB_MODULES:
        module: VerbModule = importlib.import_module(f"corral.cli.{name}")
        module.register(sub)
    return parser


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """ "; did you mean 'x'?" for the choice closest to WORD, or "" when none is close."""
    import difflib  # only on the error path

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f"; did you mean {close[0]!r}?" if close else ""


def verbs_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every verb (aliases included) registered on PARSER, with its own parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _unknown_verb(own: Sequence[str], parser: argparse.ArgumentParser) -> str | None:
    """The message for a verb that does not exist (argparse would print all forty of them)."""
    if not own or own[0].startswith("-"):
        return None
    verbs = verbs_of(parser)
    if own[0] in verbs:
        return None
    hint = did_you_mean(own[0], list(verbs))
    return f"unknown verb {own[0]!r}{hint}\n(`corral --help` lists every verb)"


def _quiet_stdout() -> None:
    """The reader left (`corral … | head`): later writes and the exit flush go nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file (tests capture stdout in memory)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one verb; returns the exit code (0 ok, 1 failed, 2 bad usage or config).

    When whoever reads the output goes away (`corral startup --print | head -5`), the
    verb stops writing and the exit code is 141, what a shell reports for any program
    killed by SIGPIPE; no traceback. (SIGPIPE itself stays ignored: a write to the
    daemon's socket after it closed must be an error the CLI handles, not a death.)
    """
    try:
        code = _main(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return 128 + 13
    return code


def _main(argv: Sequence[str]) -> int:
    own, passthrough = split_passthrough(argv)
    parser = build_parser(HOT_VERBS.get(own[0]) if own else None)
    unknown = _unknown_verb(own, parser)
    if unknown:
        print(f"corral: {unknown}", file=sys.stderr)
        return 2
    args = parser.parse_args(own)
    if not getattr(args, "module", None):
        parser.print_help(sys.stderr)
        return 2
    if passthrough is not None and not getattr(args, "takes_passthrough", False):
        parser.error(f"'{args.verb}' takes no arguments after --")
    args.passthrough = passthrough or []
    module: VerbModule = importlib.import_module(args.module)
    try:
        if getattr(args, "per_host", False) and (args.hosts or args.hosts_file):
            from corral.cli import fleet

            return fleet.run(args, module, fleet.hosts_of(args))
        return module.run(args)
    except UsageError as exc:
        print(f"corral: {exc}", file=sys.stderr)
        return 2
    except Untrusted as exc:  # someone else's home or socket, from any verb: nothing sent
        print(f"corral: {exc}", file=sys.stderr)
        return 2
    except Failure as exc:
        print(f"corral: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
