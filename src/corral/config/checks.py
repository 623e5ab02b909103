"""Provides the last phase of resolving an app: checks on the whole, against config.limits.

Values are checked one by one as they are coerced; these are the checks that need the
resolved app: a name usable as a target and safe in a log line, and an environment and
arguments that fit one protocol message and one execve.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping

from corral.config import limits
from corral.config.environment import json_size

Report = Callable[[str | None, str], None]

_DIGITS = re.compile(r"[0-9]+")
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})


def control_character(text: str) -> str | None:
    """The first character of TEXT that could break or forge a line, as `U+000A`."""
    for char in text:
        if unicodedata.category(char) in _LINE_BREAKING:
            return f"U+{ord(char):04X}"
    return None


def target_name(value: str, what: str) -> str | None:
    """Why VALUE cannot be an app's name or namespace (both are targets), or None."""
    if value in limits.RESERVED_NAMES:
        return f"{value!r} is reserved: `corral stop {value}` means every app"
    if _DIGITS.fullmatch(value):
        return (
            f"a {what} cannot be a number: `corral stop {value}` means the process with id {value}"
        )
    if (char := control_character(value)) is not None:
        return f"a {what} cannot hold a control character ({char}): it would break log lines"
    return None


def check_names(
    name: str, namespace: str, name_key: str, namespace_key: str, report: Report
) -> None:
    if (why := target_name(name, "name")) is not None:
        report(name_key, why)
    if (why := target_name(namespace, "namespace")) is not None:
        report(namespace_key, why)


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} KiB"


def check_env(env: Mapping[str, str], key: str, report: Report) -> None:
    """The whole environment fits one message to the daemon, and each variable one execve."""
    for name, value in env.items():
        size = len(name.encode("utf-8", "surrogateescape")) + 1
        size += len(value.encode("utf-8", "surrogateescape"))
        if size > limits.MAX_VARIABLE_BYTES:
            report(
                key,
                f"variable {name} is {_kib(size)}; Linux runs no program given a variable "
                f"over {_kib(limits.MAX_VARIABLE_BYTES + 1)}",
            )
    total = json_size(env)
    if total > limits.MAX_ENV_BYTES:
        report(
            key,
            f"the environment is {_kib(total)} (inherited variables included); "
            f"at most {_kib(limits.MAX_ENV_BYTES)} is allowed",
        )


def check_args(
    args: tuple[str, ...], interpreter_args: tuple[str, ...], key: str, report: Report
) -> None:
    total = json_size([*args, *interpreter_args])
    if total > limits.MAX_ARGS_BYTES:
        report(key, f"the arguments are {_kib(total)}; at most {_kib(limits.MAX_ARGS_BYTES)}")
