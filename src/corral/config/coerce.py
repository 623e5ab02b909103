"""Provides the value coercions for each attribute kind, as PM2 does them.

PM2 turns numeric strings into numbers, a string where a list is expected into words,
and accepts units on sizes and times; these functions do the same and raise ValueError
with a short message (the caller adds the file, app and key).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import signal
from collections.abc import Callable, Mapping
from typing import Any

from corral.config import limits
from corral.config.units import parse_duration, parse_memory

DEV_NULL = "/dev/null"
LOG_FILE_DEFAULT = "true"
"""`log_file: true`: the combined log at its default place (the log writer decides where).

Never confused with a path: every path in an AppSpec is absolute.
"""

_INTEGER = re.compile(r"[+-]?\d+")
_CRON_MACRO = re.compile(r"@(yearly|annually|monthly|weekly|daily|midnight|hourly)", re.I)


def describe(value: object) -> str:
    """A JSON-ish name for the type of VALUE, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a table/object"
    return type(value).__name__


def text(value: object) -> str:
    """A non-empty string; numbers are accepted and written out (YAML `name: 123`)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {describe(value)}")
    if not value.strip():
        raise ValueError("must not be empty")
    return _no_nul(value)


def _no_nul(value: str) -> str:
    """No program can be given a NUL byte (execve ends a string there): refuse it at load."""
    if "\0" in value:
        raise ValueError(f"must not contain a NUL character: {value[:60]!r}")
    return value


def boolean(value: object) -> bool:
    """true/false, or the strings "true"/"false" that CLIs and env files produce."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"must be true or false, not {value!r}")


def integer(value: object) -> int:
    """An int from an int, an integral float, or a numeric string (PM2 coerces those)."""
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise ValueError(f"must be a whole number, not {value!r}")


def count(value: object) -> int:
    """A whole number >= 0."""
    number = integer(value)
    if number < 0:
        raise ValueError(f"must be 0 or more, not {number}")
    return number


def port(value: object) -> int:
    """A TCP port number."""
    number = integer(value)
    if not 0 < number < 65536:
        raise ValueError(f"must be a port number (1-65535), not {number}")
    return number


def memory(value: object) -> int | None:
    """Bytes; 0 means no limit."""
    return parse_memory(value) or None


def argv(value: object) -> tuple[str, ...]:
    """A list of words, or one string split like a shell would (quotes respected)."""
    if isinstance(value, str):
        try:
            return tuple(shlex.split(_no_nul(value)))
        except ValueError as exc:
            raise ValueError(f"cannot split {value[:60]!r} into words: {exc}") from None
    return strings(value)


def strings(value: object) -> tuple[str, ...]:
    """A list of strings (numbers written out); a lone string is a one-item list."""
    if isinstance(value, str):
        return (_no_nul(value),)
    if not isinstance(value, list | tuple):
        raise ValueError(f"must be a string or a list of strings, not {describe(value)}")
    items: list[str] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ValueError(f"must hold only strings, not {describe(item)} ({item!r:.60})")
        items.append(_no_nul(str(item)))
    return tuple(items)


def exit_codes(value: object) -> tuple[int, ...]:
    """One exit code or a list of them (numeric strings allowed)."""
    items = value if isinstance(value, list | tuple) else [value]
    codes: list[int] = []
    for item in items:
        code = integer(item)
        if not 0 <= code <= 255:
            raise ValueError(f"exit codes are 0-255, not {code}")
        codes.append(code)
    return tuple(codes)


def instances(value: object, cpus: int | None = None) -> int:
    """A process count: "max"/0 = one per CPU, -k = CPUs minus k.

    PM2 quietly runs one instance when -k leaves none and accepts any count; a count that
    cannot be what was meant (no CPU left, or over limits.MAX_INSTANCES) is an error here.
    """
    available = cpus or os.cpu_count() or 1
    if isinstance(value, str) and value.strip().lower() == "max":
        return available
    try:
        number = integer(value)
    except ValueError:
        raise ValueError(f'must be a number or "max", not {value!r}') from None
    if number > limits.MAX_INSTANCES:
        raise ValueError(f"must be at most {limits.MAX_INSTANCES}, not {number}")
    if number > 0:
        return number
    if available + number < 1:
        raise ValueError(f"{number} leaves no instance on a machine with {available} CPUs")
    return available + number


def exec_mode(value: object) -> str:
    """ "fork" or "cluster" (PM2 also writes them "fork_mode", "cluster_mode")."""
    mode = str(value).strip().lower() if isinstance(value, str) else None
    if mode in ("fork", "fork_mode", "cluster", "cluster_mode"):
        return mode.removesuffix("_mode")
    raise ValueError(f'must be "fork" or "cluster", not {value!r}')


def log_type(value: object) -> str:
    """ "raw" or "json"."""
    if isinstance(value, str) and value.strip().lower() in ("raw", "json"):
        return value.strip().lower()
    raise ValueError(f'must be "raw" or "json", not {value!r}')


def memory_scope(value: object) -> str:
    """ "tree" (the process and its descendants) or "process" (the main process, as PM2)."""
    if isinstance(value, str) and value.strip().lower() in ("tree", "process"):
        return value.strip().lower()
    raise ValueError(f'must be "tree" or "process", not {value!r}')


def signal_name(value: object) -> str:
    """A signal as "SIGTERM", from "SIGTERM", "term", or its number."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return signal.Signals(value).name
        except ValueError:
            raise ValueError(f"no signal has number {value}") from None
    if not isinstance(value, str):
        raise ValueError(f"must be a signal name or number, not {describe(value)}")
    if _INTEGER.fullmatch(value.strip()):
        return signal_name(int(value))
    name = value.strip().upper()
    name = name if name.startswith("SIG") else f"SIG{name}"
    if name not in signal.Signals.__members__:
        raise ValueError(f"not a signal: {value!r}")
    return name


def cron(value: object) -> str | None:
    """A cron pattern (5 fields, or 6 with seconds, or @daily-style); 0 disables it."""
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a cron pattern string, not {describe(value)}")
    pattern = " ".join(value.split())
    if pattern in ("", "0"):
        return None
    six = len(pattern.split(" ")) == 6
    if _CRON_MACRO.fullmatch(pattern) or len(pattern.split(" ")) == 5 or six:
        # Imported only when a file has a cron pattern: loading stays light otherwise.
        from croniter import croniter

        # PM2's 6-field form puts the seconds first; croniter's default puts them last.
        if croniter.is_valid(pattern, second_at_beginning=six):
            return pattern
    raise ValueError(f"not a cron pattern: {value!r} (5 fields, or 6 with seconds first)")


def log_path(value: object) -> str:
    """A log file path; "NULL" (PM2's spelling) and /dev/null both mean "don't write"."""
    path = text(value)
    return DEV_NULL if path.strip().upper() in ("NULL", DEV_NULL.upper()) else path


def log_file(value: object) -> str | None:
    """false = no combined log, true = LOG_FILE_DEFAULT, else a path."""
    if isinstance(value, bool):
        return LOG_FILE_DEFAULT if value else None
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return log_file(value.strip().lower() == "true")
    return log_path(value)


def watch(value: object) -> bool | tuple[str, ...]:
    """false, true (the app's cwd), or paths; an empty list means true, as in PM2."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    paths = strings(value)
    return paths or True


def filter_env(value: object) -> bool | tuple[str, ...]:
    """true drops the whole inherited env; a list drops names containing any item."""
    if isinstance(value, bool):
        return value
    return strings(value)


def env_value(value: object) -> str | None:
    """An env value as the child sees it: JS-like text; null unsets the variable."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def env(value: object) -> dict[str, str | None]:
    """A table of variables; values are written out as text (objects as JSON).

    A name must be one execve can pass on (not empty, no `=`, no NUL), a value no NUL:
    otherwise the child could not be started, and that is known now.
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"must be a table/object of variables, not {describe(value)}")
    table: dict[str, str | None] = {}
    for key, item in value.items():
        name = str(key)
        if not name:
            raise ValueError("a variable name must not be empty")
        if "=" in name or "\0" in name:
            what = "'='" if "=" in name else "a NUL character"
            raise ValueError(f"variable name {name[:60]!r} must not contain {what}")
        text_value = env_value(item)
        if text_value is not None and "\0" in text_value:
            raise ValueError(f"variable {name[:60]} must not contain a NUL character")
        table[name] = text_value
    return table


def listen(value: object) -> tuple[str, ...]:
    """Addresses to share among instances: `host:port`, `:port`, `[::1]:port`, `unix:/path`."""
    from corral.config.listen import parse_listen

    addresses = strings(value)
    for address in addresses:
        parse_listen(address)
    return addresses


def env_files(value: object) -> tuple[str, ...]:
    """`env_file`: a path or a list of paths; `-path` marks one optional (systemd's way)."""
    files = strings(value)
    for item in files:
        if not item.removeprefix("-").strip():
            raise ValueError(f"must name a file, not {item!r}")
    return files


def depends_on(value: object) -> dict[str, str]:
    """Apps this one waits for: a table name -> condition, or names (each waiting for ready)."""
    from corral.config.depends import CONDITIONS, DEFAULT_CONDITION

    if isinstance(value, Mapping):
        table: dict[str, str] = {}
        for key, condition in value.items():
            name = text(key)
            if condition not in CONDITIONS:
                choices = ", ".join(CONDITIONS)
                raise ValueError(f"{name}: condition must be one of {choices}, not {condition!r}")
            table[name] = condition
        return table
    try:
        names = strings(value)
    except ValueError:
        raise ValueError(
            f"must be a table (name = condition) or a list of app names, not {describe(value)}"
        ) from None
    return {text(name): DEFAULT_CONDITION for name in names}


def url(value: object) -> str:
    """An http:// URL (health checks are plain HTTP on the machine itself)."""
    text_value = text(value)
    if not text_value.startswith("http://"):
        raise ValueError(f"must be an http:// URL, not {text_value!r}")
    return text_value


def probe(value: object) -> object:
    """A readiness or liveness probe (config/probe.py)."""
    from corral.config.probe import probe as parse

    return parse(value)


def positive(value: object) -> int:
    """A whole number of at least 1."""
    number = count(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


COERCE: dict[str, Callable[[Any], Any]] = {
    "text": text,
    "bool": boolean,
    "count": count,
    "port": port,
    "duration": parse_duration,
    "memory": memory,
    "argv": argv,
    "strings": strings,
    "exit_codes": exit_codes,
    "instances": instances,
    "exec_mode": exec_mode,
    "log_type": log_type,
    "memory_scope": memory_scope,
    "signal": signal_name,
    "cron": cron,
    "log_path": log_path,
    "log_file": log_file,
    "watch": watch,
    "filter_env": filter_env,
    "env": env,
    "env_files": env_files,
    "depends_on": depends_on,
    "listen": listen,
    "url": url,
    "probe": probe,
    "positive": positive,
}
"""Coercion for every kind named in schema.KINDS."""
