"""Provides the one place that tells what runs a script: Node, Python, or something else.

PM2 runs a script through node when its extension says so or when nothing else does; a
launcher without an extension (`node_modules/next/dist/bin/next`, ts-node, anything that
starts `#!/usr/bin/env node`) is a Node program, so `node_args` and the cluster shim
apply to it. The config layer picks the interpreter with this, and the engine decides
which shim a child gets with it.
"""

from __future__ import annotations

import os
import shlex

NODE_NAMES = ("node", "nodejs")
SHEBANG_MAX = 256
"""Bytes read to find a shebang line (the kernel reads at most 256 too)."""


def is_node(interpreter: str | None) -> bool:
    """True when INTERPRETER (a path or a name) is node."""
    return interpreter is not None and os.path.basename(interpreter) in NODE_NAMES


def is_python(interpreter: str | None, script: str | None = None) -> bool:
    """True when the program is Python: by its interpreter, or (given SCRIPT, run
    directly) by its shebang (a console script such as `flask` or `gunicorn`)."""
    program = interpreter
    if program is None and script is not None:
        program = shebang_program(script)
    return program is not None and os.path.basename(program).startswith("python")


def shebang_program(script: str) -> str | None:
    """The program a `#!` line names (looking through `env [-S] [VAR=x]`), or None."""
    try:
        with open(script, "rb") as file:
            head = file.read(SHEBANG_MAX)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace")
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return words[0].split()[0] if words and words[0].strip() else None


def is_node_script(script: str) -> bool:
    """True for a file whose shebang names node (run through node, as PM2 does)."""
    program = shebang_program(script)
    return program is not None and os.path.basename(program) in NODE_NAMES
