"""Provides `corral deploy` and the `startOrRestart` / `startOrReload` verbs its hooks call.

    corral deploy [FILE] ENV [setup | update | revert [N] | curr | prev | list
                             | exec CMD | ref REF] [--force] [--parallel N] [--json]

PM2's word order is kept (a file first if given, then the env, then the action), so it
is parsed by hand from one list of words rather than by nested subparsers. Only argparse
is imported at registration: the full parser is built for every verb that is not hot.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from corral.cli.main import UsageError

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from corral.deploy.runner import Action

ACTIONS = {
    "setup": "setup",
    "update": "update",
    "revert": "revert",
    "curr": "curr",
    "current": "curr",
    "prev": "prev",
    "previous": "prev",
    "list": "list",
    "exec": "exec",
    "run": "exec",
    "ref": "ref",
}
"""Action words as typed (PM2's long forms too) -> the action run."""

USAGE = "corral deploy [FILE] ENV [setup|update|revert [N]|curr|prev|list|exec CMD|ref REF]"
CONFIG_SUFFIXES = (".toml", ".json", ".json5", ".yaml", ".yml", ".js", ".cjs", ".mjs")

START_VERBS = {
    "startOrRestart": ("start", "restart the apps of FILE that run, start the others"),
    "startOrReload": ("reload", "reload the apps of FILE that run, start the others"),
    "startOrGracefulReload": ("reload", "as startOrReload (PM2's graceful variant)"),
}
"""PM2's verbs for post-deploy hooks -> the corral verb whose code path they take."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "deploy",
        help="ship a git ref to the hosts of a deploy env, over ssh",
        description="Deploy with the `deploy.<ENV>` section of FILE; the action defaults to "
        "update. After `--` comes the command for exec.",
        usage=f"{USAGE} [--force] [--parallel N] [--json]",
    )
    parser.add_argument("words", nargs="+", metavar="WORD", help="[FILE] ENV [ACTION [ARG]]")
    parser.add_argument(
        "--force", action="store_true", help="deploy even if the local repo is dirty or unpushed"
    )
    parser.add_argument("--parallel", type=int, metavar="N", help="hosts at once (default: all)")
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON (host output on stderr)"
    )
    parser.set_defaults(module=__name__, takes_passthrough=True, start_verb=None)

    for verb, (_delegate, text) in START_VERBS.items():
        parser = sub.add_parser(verb, help=text, description=text.capitalize() + ".")
        parser.add_argument("file", help="ecosystem file")
        parser.add_argument("--env", dest="env_profile", help="layer env_<ENV> over env")
        parser.add_argument("--only", help="comma-separated app names")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.set_defaults(module=__name__, start_verb=verb)


def run(args: argparse.Namespace) -> int:
    if args.start_verb:
        return _start_or(args)
    return _deploy(args)


def _start_or(args: argparse.Namespace) -> int:
    """Run `corral start FILE` or `corral reload FILE`: the same parser, the same code."""
    import importlib

    from corral.cli.main import build_parser

    if not os.path.isfile(args.file):
        raise UsageError(f"{args.start_verb}: {args.file}: no such ecosystem file")
    delegate = START_VERBS[args.start_verb][0]
    argv = [delegate, args.file]
    if args.env_profile:
        argv += ["--env", args.env_profile]
    if args.only:
        argv += ["--only", args.only]
    if args.json:
        argv.append("--json")
    module_name = "start" if delegate == "start" else "lifecycle"
    inner = build_parser(module_name).parse_args(argv)
    inner.passthrough = []
    module = importlib.import_module(inner.module)
    code: int = module.run(inner)
    return code


def parse_words(words: list[str], passthrough: list[str]) -> tuple[str | None, str, Action]:
    """(file or None, env, Action) from the positional words; UsageError if they don't fit."""
    from corral.deploy.runner import Action

    rest = list(words)
    file = None
    if rest and (rest[0].lower().endswith(CONFIG_SUFFIXES) or os.path.isfile(rest[0])):
        file = rest.pop(0)
    if not rest:
        raise UsageError(f"deploy: which env?\nusage: {USAGE}")
    env = rest.pop(0)
    word = rest.pop(0) if rest else "update"
    name = ACTIONS.get(word)
    if name is None:
        from corral.config.schema import suggest

        hint = suggest(word, sorted(ACTIONS))
        raise UsageError(f"deploy: unknown action {word!r}{hint}\nusage: {USAGE}")
    if passthrough and name != "exec":
        raise UsageError("deploy: only exec takes a command after --")
    if name == "exec":
        command = shlex.join(passthrough) if passthrough else " ".join(rest)
        if not command.strip():
            raise UsageError('deploy: exec needs a command: corral deploy ENV exec "CMD"')
        return file, env, Action(name, command=command)
    if name == "ref":
        if len(rest) != 1:
            raise UsageError("deploy: ref needs one git ref: corral deploy ENV ref REF")
        return file, env, Action(name, ref=rest[0])
    if name == "revert":
        if len(rest) > 1 or (rest and not (rest[0].isdigit() and int(rest[0]) >= 1)):
            raise UsageError("deploy: revert takes a number of deploys to go back (1 or more)")
        return file, env, Action(name, back=int(rest[0]) if rest else 1)
    if rest:
        raise UsageError(f"deploy: {word} takes no argument, got {' '.join(rest)!r}")
    return file, env, Action(name)


def _deploy(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from corral.config import ConfigError
    from corral.deploy import load_target
    from corral.deploy.runner import MUTATING, run_action, summary

    if args.parallel is not None and args.parallel < 1:
        raise UsageError("--parallel must be 1 or more")
    file, env, action = parse_words(args.words, args.passthrough)
    if file is None:
        from corral.config import find_default_config

        found = find_default_config(Path.cwd())
        if found is None:
            raise UsageError(f"no ecosystem file given and none found here\nusage: {USAGE}")
        file = str(found)
    try:
        target = load_target(file, env)
    except ConfigError as exc:
        raise UsageError(f"bad config:\n{exc}") from None
    out = sys.stderr if args.json else sys.stdout
    report = run_action(target, action, out=out, parallel=args.parallel, force=args.force)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return report.exit_code
    for note in report.notes:
        print(f"corral: {note}", file=sys.stderr)
    if report.hosts and (action.name in MUTATING or len(report.hosts) > 1 or report.exit_code):
        sys.stdout.write("\n" + summary(report))
    return report.exit_code
