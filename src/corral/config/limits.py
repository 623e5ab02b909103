"""Provides the bounds every config is checked against at load time, in one place.

A config file is input from whoever can write it; corral often runs as root. These
limits are far above any real ecosystem file and far below what would hurt the machine,
so a hostile or broken file is refused with a clear message (exit 2) before anything
starts. docs/config.md lists them; the daemon's protocol must carry the largest app they
allow (a test checks `MAX_ENV_BYTES + MAX_ARGS_BYTES` against `protocol.MAX_LINE`).
"""

from __future__ import annotations

MAX_FILE_BYTES = 4 * 1024 * 1024
"""An ecosystem file (or what node prints for a JS one) larger than this is refused."""

MAX_DEPTH = 64
"""Nesting of lists and tables; an app needs 5 (apps / index / env / name / value)."""

MAX_NODES = 500_000
"""Values in a document once YAML aliases are expanded (a "billion laughs" stops here)."""

MAX_APPS = 1000
"""Apps in one file."""

MAX_INSTANCES = 1024
"""Instances of one app."""

MAX_PROCESSES = 4096
"""Instances of all the apps of one file together."""

MAX_ENV_BYTES = 256 * 1024
"""An app's whole environment, as JSON (how it travels to the daemon)."""

MAX_VARIABLE_BYTES = 128 * 1024 - 1
"""One `NAME=value`: Linux refuses to exec a program with a longer one (MAX_ARG_STRLEN)."""

MAX_ARGS_BYTES = 128 * 1024
"""An app's `args` and `interpreter_args` together, as JSON."""

RESERVED_NAMES = frozenset({"all"})
"""Names that are targets of their own: `corral delete all` must not mean one app."""
