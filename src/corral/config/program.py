"""Provides what an app runs: its script (a file, a program on PATH or a shell command)
and the interpreter that runs it, found the way PM2 finds them.

Every lookup is done against the app's own PATH (its resolved environment), so a
`PATH` set in `env` decides which `node` runs, as it would in the child.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass

from corral.config import runtime

Report = Callable[[str | None, str], None]

EXTENSION_INTERPRETERS: dict[str, tuple[str, ...]] = {
    ".py": ("<python>",),
    ".js": ("node",),
    ".cjs": ("node",),
    ".mjs": ("node",),
    ".ts": ("bun", "node"),
    ".tsx": ("bun", "node"),
    ".sh": ("bash",),
    ".rb": ("ruby",),
    ".pl": ("perl",),
    ".php": ("php",),
    ".coffee": ("coffee",),
}
"""Programs tried, in order, for a script of each extension; "<python>" is this Python."""


@dataclass(frozen=True, slots=True)
class Program:
    """The resolved script and how it is run."""

    written: str
    """The script as the file gives it (for the default name)."""
    script: str
    """Absolute path of the script, or bash for a shell command."""
    command: bool
    """The script is a shell command, run as `bash -c WRITTEN`."""
    interpreter: str | None
    """Absolute path of the interpreter; None runs the script itself."""
    interpreter_origin: str
    """"file" when given, "extension" when chosen by the script's extension, else "none"."""


def absolute(path: str, base: str) -> str:
    """PATH (with ~ expanded) made absolute against BASE, normalised."""
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def default_name(script: str, command: bool) -> str:
    """PM2's default: the script's basename without its last extension; a command as written."""
    if command:
        return script.strip()
    base = os.path.basename(script.rstrip("/")) or script
    return os.path.splitext(base)[0] or base


def is_command(script: str) -> bool:
    """A script with spaces is a shell command (unless a file of that name exists)."""
    return any(ch.isspace() for ch in script.strip())


def resolve_script(
    script: str, cwd: str, search_path: str, key: str, report: Report
) -> tuple[str | None, bool]:
    """(absolute script or None, whether it is a shell command run with bash -c)."""
    candidate = absolute(script, cwd)
    if os.path.isfile(candidate):
        return candidate, False
    if is_command(script):
        return shutil.which("bash", path=search_path) or "/bin/bash", True
    if "/" not in script and (found := shutil.which(script, path=search_path)):
        return os.path.abspath(found), False
    if os.path.isdir(candidate):
        report(key, f"script is a folder, not a file: {candidate}")
    elif "/" in script or os.path.splitext(script)[1]:
        report(key, f"script not found: {candidate}")
    else:
        report(key, f"script not found: {candidate} (nor {script!r} on PATH)")
    return None, False


def explicit_interpreter(
    value: str, cwd: str, search_path: str, key: str, report: Report
) -> str | None:
    """The interpreter the file names: `none`, a path, or a program on PATH."""
    if value.strip().lower() == "none":
        return None
    if "/" in value:
        path = absolute(value, cwd)
        if not os.path.isfile(path):
            report(key, f"interpreter not found: {path}")
        return path
    candidates = (value, "python3") if value == "python" else (value,)
    for candidate in candidates:
        if found := shutil.which(candidate, path=search_path):
            return os.path.abspath(found)
    report(key, f"interpreter {value!r} not found on PATH")
    return None


def interpreter_by_extension(
    script: str, search_path: str, script_key: str, report: Report
) -> str | None:
    """PM2's choice by extension; a file with no known extension must be executable."""
    extension = os.path.splitext(script)[1].lower()
    programs = EXTENSION_INTERPRETERS.get(extension)
    if programs is None and runtime.is_node_script(script):
        programs = ("node",)  # a `#!/usr/bin/env node` launcher: run through node, as PM2
    if programs is None:
        if not os.access(script, os.X_OK):
            report(
                script_key,
                f"{script} is not executable and has no known extension; set interpreter",
            )
        return None
    if programs == ("<python>",):
        return sys.executable
    for program in programs:
        if found := shutil.which(program, path=search_path):
            return os.path.abspath(found)
    wanted = " or ".join(repr(p) for p in programs)
    report("interpreter", f"{wanted} is needed to run {extension} scripts and is not on PATH")
    return None
