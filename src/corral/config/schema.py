"""Provides the attribute table: PM2's app keys, their aliases, and the keys accepted but ignored.

`normalise_keys` maps whatever spelling a file uses (`cmd`, `node_args`, `maxMemoryRestart`)
onto one canonical name per attribute. Unlike PM2, which silently drops unknown keys, an
unknown key here is a problem with a did-you-mean suggestion: a typo in `max_memory_restart`
should not quietly remove the limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS: dict[str, str] = {
    "name": "text",
    "script": "text",
    "cwd": "text",
    "args": "argv",
    "interpreter": "text",
    "interpreter_args": "argv",
    "env": "env",
    "env_file": "env_files",
    "depends_on": "depends_on",
    "namespace": "text",
    "instances": "instances",
    "exec_mode": "exec_mode",
    "autostart": "bool",
    "autorestart": "bool",
    "max_restarts": "count",
    "min_uptime": "duration",
    "restart_delay": "duration",
    "exp_backoff_restart_delay": "duration",
    "stop_exit_codes": "exit_codes",
    "kill_timeout": "duration",
    "kill_signal": "signal",
    "treekill": "bool",
    "max_memory_restart": "memory",
    "memory_scope": "memory_scope",
    "watch": "watch",
    "ignore_watch": "strings",
    "watch_delay": "duration",
    "cron_restart": "cron",
    "out_file": "log_path",
    "error_file": "log_path",
    "log_file": "log_file",
    "pid_file": "log_path",
    "log_date_format": "text",
    "time": "bool",
    "merge_logs": "bool",
    "log_type": "log_type",
    "log_max_size": "memory",
    "log_retain": "count",
    "log_compress": "bool",
    "log_rotate_interval": "cron",
    "listen": "listen",
    "reuse_port": "bool",
    "shim": "bool",
    "wait_ready": "bool",
    "listen_timeout": "duration",
    "ready_timeout_fails": "bool",
    "health_check": "url",
    "readiness_probe": "probe",
    "liveness_probe": "probe",
    "reload_parallel": "positive",
    "instance_var": "text",
    "increment_var": "text",
    "port": "port",
    "filter_env": "filter_env",
    "append_env_to_name": "bool",
    "disable_logs": "bool",
}
"""Every attribute corral acts on, with the kind of value it takes (see coerce.py)."""

ALIASES: dict[str, str] = {
    "cmd": "script",
    "command": "script",
    "exec": "script",
    "node_args": "interpreter_args",
    "exec_interpreter": "interpreter",
    "out": "out_file",
    "output": "out_file",
    "out_log": "out_file",
    "error": "error_file",
    "err": "error_file",
    "err_file": "error_file",
    "err_log": "error_file",
    "log": "log_file",
    "combine_logs": "merge_logs",
    "cron": "cron_restart",
    "pid": "pid_file",
}
"""PM2's other spellings of an attribute (its camelCase forms are added below)."""

IGNORED: tuple[str, ...] = (
    # Node.js runtime and PM2.io/APM features: no meaning for arbitrary programs.
    "source_map_support",
    "disable_source_map_support",
    "vizion",
    "pmx",
    "automation",
    "trace",
    "disable_trace",
    "v8",
    "event_loop_inspector",
    "deep_monitoring",
    "node_version",
    "install_url",
    "post_update",
    "io",
    "km_link",
    "windowsHide",
    "watch_options",
    # Node's IPC shutdown message: corral stops apps with kill_signal.
    "shutdown_with_message",
    # PM2 CLI and daemon internals that corral handles its own way.
    "force",
    "username",
    "execute_command",
    "write",
    "name_prefix",
    "kill_retry_time",
)
"""PM2 keys accepted and ignored without a word, so PM2 files load unchanged."""

UNSUPPORTED: dict[str, str] = {
    "uid": "dropping privileges is not supported; run corral as that user",
    "gid": "dropping privileges is not supported; run corral as that group's user",
    "user": "dropping privileges is not supported; run corral as that user",
}
"""PM2 keys whose silent omission would be unsafe, so they are refused with a reason."""

PROFILE_PREFIX = "env_"
PROFILE_FILE_PREFIX = "env_file_"
"""`env_file_<profile>`: env files read only under `--env <profile>`, over `env_file`."""

_CAMEL_PART = re.compile(r"_([a-z0-9])")


def camel_case(key: str) -> str:
    """PM2's generated alias: `max_memory_restart` -> `maxMemoryRestart`."""
    return _CAMEL_PART.sub(lambda m: m.group(1).upper(), key)


def _spellings() -> dict[str, str]:
    spellings = {key: key for key in KINDS}
    spellings.update(ALIASES)
    for written, canonical in list(spellings.items()):
        spellings.setdefault(camel_case(written), canonical)
    return spellings


SPELLINGS: dict[str, str] = _spellings()
"""Every accepted spelling of an attribute -> its canonical name."""

_IGNORED_SPELLINGS = frozenset(IGNORED) | {camel_case(key) for key in IGNORED}
_KNOWN = sorted({*SPELLINGS, *IGNORED, *UNSUPPORTED})


@dataclass(frozen=True, slots=True)
class Entry:
    """One attribute of an app, remembered with the key it was written as."""

    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class AppKeys:
    """An app's keys sorted out: canonical attributes and `env_<profile>` tables."""

    attrs: dict[str, Entry]
    profiles: dict[str, Entry]
    profile_files: dict[str, Entry] = field(default_factory=dict)


def suggest(key: str, choices: list[str] | None = None) -> str:
    """ " (did you mean 'X'?)" for the closest known key, or "" when nothing is close."""
    import difflib  # only needed when something is wrong

    pool = _KNOWN if choices is None else choices
    close = difflib.get_close_matches(key, pool, n=1, cutoff=0.6)
    if not close and choices is None:
        folded = {known.lower(): known for known in pool}
        close = difflib.get_close_matches(key.lower(), list(folded), n=1, cutoff=0.6)
        close = [folded[c] for c in close]
    if not close and len(key) >= 3:  # "prod" and "production" are too far apart for difflib
        close = [known for known in pool if known.startswith(key)][:1]
        close = close or [known for known in pool if len(known) >= 3 and key.startswith(known)][:1]
    return f" (did you mean {close[0]!r}?)" if close else ""


_EITHER_TRUE = frozenset({"merge_logs"})
"""Flags PM2 reads from either spelling, true if either is (`merge_logs || combine_logs`)."""


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _same_twice(canonical: str, first: Entry, value: object) -> bool:
    """Two spellings of one attribute that cannot conflict: equal, or PM2's either-true flags."""
    return canonical in _EITHER_TRUE or first.value == value


def normalise_keys(raw: Mapping[str, Any], report: Callable[[str, str], None]) -> AppKeys:
    """Sort RAW's keys into canonical attributes; call report(key, message) for each bad key."""
    attrs: dict[str, Entry] = {}
    profiles: dict[str, Entry] = {}
    profile_files: dict[str, Entry] = {}
    for written, value in raw.items():
        key = str(written)
        canonical = SPELLINGS.get(key)
        if canonical is not None:
            if canonical in attrs:
                if not _same_twice(canonical, attrs[canonical], value):
                    first = attrs[canonical].key
                    report(key, f"{canonical!r} is given twice (as {first!r} and as {key!r})")
                elif canonical in _EITHER_TRUE and _truthy(value):
                    attrs[canonical] = Entry(key, value)
                continue
            attrs[canonical] = Entry(key, value)
        elif key.startswith(PROFILE_FILE_PREFIX) and len(key) > len(PROFILE_FILE_PREFIX):
            profile_files[key[len(PROFILE_FILE_PREFIX) :]] = Entry(key, value)
        elif key.startswith(PROFILE_PREFIX) and len(key) > len(PROFILE_PREFIX):
            profiles[key[len(PROFILE_PREFIX) :]] = Entry(key, value)
        elif key in _IGNORED_SPELLINGS:
            continue
        elif key in UNSUPPORTED:
            report(key, UNSUPPORTED[key])
        else:
            report(key, f"unknown key{suggest(key)}")
    return AppKeys(attrs, profiles, profile_files)
