"""Provides what a verb's targets may be, beyond what the daemon knows: files, stdin, script paths.

The daemon resolves ids, names, namespaces and `all`. The CLI adds, as PM2 does:
an ecosystem file (its apps), `-` (an ecosystem read from stdin, PM2's JSON pipe), and a
script path (`corral stop echo.js`: every process running that file, the path taken from
the shell's folder). A target the daemon does not know costs one `list` to look for a
script path and, failing that, to say "did you mean"; a known one costs nothing more.
Only the standard library is imported up front: `corral stop web` goes through here.
"""

from __future__ import annotations

import argparse
import os
import sys

from corral.cli.main import Failure, UsageError, did_you_mean
from corral.daemon import protocol
from corral.daemon.client import Client, DaemonError

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

Row = dict[str, "Any"]

STDIN = "-"
"""The target that means "an ecosystem on stdin" (JSON as in PM2, or corral's TOML)."""
STDIN_LABEL = "<stdin>"
ECOSYSTEM_SUFFIXES = (".toml", ".json", ".json5", ".yaml", ".yml")
ECOSYSTEM_JS = (".config.js", ".config.cjs", ".config.mjs")


def is_ecosystem(target: str) -> bool:
    """Whether TARGET names an ecosystem: `-`, or a file by PM2's rule (its name, and it exists)."""
    if target == STDIN:
        return True
    lower = target.lower()
    named = lower.endswith(ECOSYSTEM_SUFFIXES) or lower.endswith(ECOSYSTEM_JS)
    return named and os.path.isfile(target)


def load_apps(
    path: str, args: argparse.Namespace, overrides: dict[str, Any] | None = None
) -> list[Any]:
    """The AppSpecs of an ecosystem file or stdin (`--only`, `--env`, OVERRIDES applied).

    Bad config exits 2; warnings go to stderr, once per app.
    """
    from corral.config import ConfigError, load_ecosystem

    only = getattr(args, "only", None)
    names = [n for n in only.split(",") if n] if only else None
    profile = getattr(args, "env_profile", None)
    try:
        if path == STDIN:
            # Read once per command (kept on ARGS), however many times `-` is looked at.
            if getattr(args, "stdin_text", None) is None:
                from corral.config.limits import MAX_FILE_BYTES

                # Bounded: one more than the limit is enough for the loader to refuse it.
                args.stdin_text = sys.stdin.read(MAX_FILE_BYTES + 1)
            eco = _load_stdin(args.stdin_text, profile, names, overrides)
        else:
            eco = load_ecosystem(path, env_profile=profile, only=names, overrides=overrides)
    except ConfigError as exc:
        raise UsageError(f"bad config:\n{exc}") from None
    for warning in eco.warnings:
        print(f"corral: warning: {warning}", file=sys.stderr)
    return list(eco.apps)


def _load_stdin(
    text: str, profile: str | None, names: list[str] | None, overrides: dict[str, Any] | None
) -> Any:
    """Stdin's ecosystem; relative paths in it are relative to this shell's folder (as PM2)."""
    import tempfile

    from corral.config import load_ecosystem

    if not text.strip():
        raise UsageError("`-` reads an ecosystem from stdin, and stdin was empty")
    # The loader picks its parser by file name: JSON when it looks like JSON (an object,
    # or an array of objects), else TOML (whose `[[apps]]` also starts with a bracket).
    head = "".join(text.split())[:2]
    suffix = ".json" if head[:1] == "{" or head in ("[{", "[]") else ".toml"
    with tempfile.TemporaryDirectory(prefix="corral-stdin-") as folder:
        path = os.path.join(folder, "stdin" + suffix)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return load_ecosystem(
            path,
            env_profile=profile,
            only=names,
            overrides=overrides,
            base_dir=os.getcwd(),
            label=STDIN_LABEL,
        )


def expand(targets: Sequence[str], args: argparse.Namespace) -> list[str]:
    """TARGETS with each ecosystem (file or `-`) replaced by the names of its apps."""
    out: list[str] = []
    for target in targets:
        if is_ecosystem(target):
            out += [spec.name for spec in load_apps(target, args)]
        else:
            out.append(target)
    return out


def call(client: Client, method: str, targets: list[str], **params: Any) -> list[Row]:
    """Call METHOD on TARGETS; script paths resolved, unknown names answered with a suggestion.

    The daemon refuses a command naming an unknown target and changes nothing, so asking
    again with the targets resolved here is safe.
    """
    try:
        rows: list[Row] = client.call(method, targets=targets, **params)
    except DaemonError as exc:
        if exc.code != protocol.ErrorCode.UNKNOWN_TARGET:
            raise
        resolved = resolve(targets, client.call("list", metrics=False))
        rows = client.call(method, targets=resolved, **params)
    return rows


def resolve(targets: Sequence[str], table: list[Row]) -> list[str]:
    """TARGETS as the daemon knows them: script paths become ids; Failure for an unknown one."""
    known = {"all"}
    for row in table:
        known.update((str(row["id"]), str(row["name"]), str(row.get("namespace"))))
    out: list[str] = []
    for target in targets:
        if target in known:
            out.append(target)
            continue
        script = os.path.abspath(target)
        ids = [str(r["id"]) for r in table if (r.get("spec") or {}).get("script") == script]
        if not ids:
            raise unknown(target, table, "process or namespace")
        out += ids
    return out


def unknown(target: str, table: list[Row], what: str = "process") -> Failure:
    """The failure for TARGET, which names nothing in TABLE: with the closest name, if any."""
    names = {str(r["name"]) for r in table} | {str(r.get("namespace")) for r in table}
    return Failure(f"{what} not found: {target}{did_you_mean(target, sorted(names))}")
