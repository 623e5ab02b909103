"""Provides build_app and spec_from_mapping: one raw app table -> a resolved AppSpec.

Everything relative is resolved here (cwd, script, interpreter, log and watch paths) and
the child's environment is assembled, so the engine never looks at a config file again.
Problems are collected per app and labelled with the app's final name.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.config import coerce
from corral.config.errors import ConfigError, Problem
from corral.config.schema import KINDS, PROFILE_PREFIX, AppKeys, normalise_keys
from corral.config.spec import AppSpec

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

_NOT_SPEC_FIELDS = ("port", "filter_env", "append_env_to_name", "disable_logs")
_PATH_KEYS = ("out_file", "error_file", "log_file")

Locate = Callable[[str | None], tuple[int, int] | None]


def _nowhere(_key: str | None) -> tuple[int, int] | None:
    return None


@dataclass(frozen=True, slots=True)
class Context:
    """What resolving an app needs beyond the app itself."""

    label: str
    """The file as the user named it (or "<command line>"), for messages."""
    base_dir: str
    """Folder a relative `cwd` is resolved against, and the default cwd."""
    base_env: Mapping[str, str]
    env_profile: str | None = None
    source: str | None = None
    deploy_env: Mapping[str, str | None] = field(default_factory=dict)
    """`deploy.<profile>.env`, layered under the app's own env (as PM2 does)."""
    locate: Locate = _nowhere
    """Line and column of a key of this app (None: of the app itself), when known."""


def default_name(script: str, command: bool) -> str:
    """PM2's default: the script's basename without its last extension; a command as written."""
    if command:
        return script.strip()
    base = os.path.basename(script.rstrip("/")) or script
    return os.path.splitext(base)[0] or base


def is_command(script: str) -> bool:
    """A script with spaces is a shell command (unless a file of that name exists)."""
    return any(ch.isspace() for ch in script.strip())


def label_for(raw: Mapping[str, Any], index: int) -> str:
    """The app's name for messages before it is resolved: name, else from script, else #N."""
    name = raw.get("name")
    if isinstance(name, str | int) and not isinstance(name, bool) and str(name).strip():
        return str(name)
    for key in ("script", "cmd", "command", "exec"):
        script = raw.get(key)
        if isinstance(script, str) and script.strip():
            return default_name(script, is_command(script))
    return f"#{index + 1}"


def build_app(raw: object, ctx: Context, index: int, problems: list[Problem]) -> AppSpec | None:
    """Resolve one app; append its problems (and return None) when it has any."""
    issues: list[tuple[str | None, str]] = []

    def report(key: str | None, message: str) -> None:
        issues.append((key, message))

    spec: AppSpec | None = None
    label = f"#{index + 1}"
    if isinstance(raw, Mapping):
        label = label_for(raw, index)
        keys = normalise_keys(raw, report)
        spec = _resolve(keys, ctx, report)
        if spec is not None:
            label = spec.name
    else:
        report(None, f"an app must be a table/object, not {coerce.describe(raw)}")
    located = [(key, message, ctx.locate(key) or (None, None)) for key, message in issues]
    located.sort(key=lambda item: item[2][0] or 0)  # file order when lines are known
    for key, message, (line, column) in located:
        problems.append(Problem(ctx.label, label, key, message, line, column))
    return None if issues else spec


def _resolve(
    keys: AppKeys, ctx: Context, report: Callable[[str | None, str], None]
) -> AppSpec | None:
    values: dict[str, Any] = {}
    for canonical, entry in keys.attrs.items():
        try:
            values[canonical] = coerce.COERCE[KINDS[canonical]](entry.value)
        except ValueError as exc:
            report(entry.key, str(exc))
    profile_env: dict[str, str | None] = {}
    for profile, entry in keys.profiles.items():
        try:
            table = coerce.env(entry.value)
        except ValueError as exc:
            report(entry.key, str(exc))
            continue
        if profile == ctx.env_profile:
            profile_env = table

    def written(canonical: str) -> str:
        entry = keys.attrs.get(canonical)
        return entry.key if entry else canonical

    cwd = _resolve_cwd(values.get("cwd"), ctx.base_dir, written("cwd"), report)
    if cwd is None:
        return None  # every path below would be reported missing too
    env = _build_env(values, keys, ctx, profile_env)
    search_path = env.get("PATH", ctx.base_env.get("PATH", os.defpath))

    if "script" not in values:
        if "script" not in keys.attrs:
            report("script", "script is required (the program to run)")
        return None
    original: str = values["script"]
    script, command = _resolve_script(original, cwd, search_path, written("script"), report)
    args: tuple[str, ...] = values.get("args", ())
    interpreter: str | None = None
    if command:
        for canonical in ("interpreter", "interpreter_args", "args"):
            if values.get(canonical) not in (None, (), "none"):
                report(written(canonical), "cannot be used with a command string as script")
        args = ("-c", original)
    elif "interpreter" in values:
        interpreter = _explicit_interpreter(values["interpreter"], cwd, search_path, report)
    elif script is not None:
        interpreter = _interpreter_by_extension(script, search_path, report)
    if script is None:
        return None
    if interpreter and os.path.basename(interpreter).startswith("python"):
        env.setdefault("PYTHONUNBUFFERED", "1")

    name: str = values.get("name") or default_name(original, command)
    if values.get("append_env_to_name") and ctx.env_profile:
        name = f"{name}-{ctx.env_profile}"
    for key in _PATH_KEYS:
        path = values.get(key)
        if path is None or path == coerce.DEV_NULL:
            continue
        if not (key == "log_file" and path == coerce.LOG_FILE_DEFAULT):
            values[key] = _absolute(path, cwd)
    if values.get("disable_logs"):
        values.update(out_file=coerce.DEV_NULL, error_file=coerce.DEV_NULL, log_file=None)
    watch = values.get("watch", False)
    if isinstance(watch, tuple):
        values["watch"] = tuple(_absolute(path, cwd) for path in watch)

    if _node_cluster(interpreter, keys, values):
        # PM2 switches Node apps with `instances` to cluster mode; corral shares their port.
        values["exec_mode"] = "cluster"
        port = values.get("port") or env.get("PORT")
        if port and not values.get("listen"):
            values["listen"] = (f":{port}",)
    if values.get("listen"):
        if values.get("exec_mode") == "fork":
            report(written("listen"), "shared sockets need exec_mode = 'cluster' (or leave it out)")
        values["exec_mode"] = "cluster"
    fields = {k: v for k, v in values.items() if k not in _NOT_SPEC_FIELDS}
    fields.update(
        name=name,
        script=script,
        cwd=cwd,
        args=args,
        interpreter=interpreter,
        env=env,
        source=ctx.source,
    )
    return AppSpec(**fields)


def _node_cluster(interpreter: str | None, keys: AppKeys, values: Mapping[str, Any]) -> bool:
    """PM2's rule: a node app with `instances` given, and exec_mode not forced to fork."""
    is_node = interpreter is not None and os.path.basename(interpreter) in ("node", "nodejs")
    return is_node and "instances" in keys.attrs and values.get("exec_mode") != "fork"


def _absolute(path: str, base: str) -> str:
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def _resolve_cwd(
    value: str | None, base_dir: str, key: str, report: Callable[[str | None, str], None]
) -> str | None:
    cwd = _absolute(value, base_dir) if value is not None else os.path.normpath(base_dir)
    if value is not None and not os.path.isdir(cwd):
        report(key, f"cwd not found: {cwd}")
        return None
    return cwd


def _build_env(
    values: Mapping[str, Any], keys: AppKeys, ctx: Context, profile_env: Mapping[str, str | None]
) -> dict[str, str]:
    """base env (minus filter_env) < deploy.<profile>.env < env < env_<profile> < port."""
    env = dict(ctx.base_env)
    dropped = values.get("filter_env", False)
    if dropped is True:
        env = {}
    elif isinstance(dropped, tuple):
        exact = isinstance(keys.attrs["filter_env"].value, str)
        env = {
            k: v
            for k, v in env.items()
            if not (k in dropped if exact else any(part in k for part in dropped))
        }
    layers = (ctx.deploy_env, values.get("env", {}), profile_env)
    for layer in layers:
        for name, value in layer.items():
            if value is None:
                env.pop(name, None)  # `FOO: null` unsets an inherited variable
            else:
                env[name] = value
    if "port" in values:
        env["PORT"] = str(values["port"])
    return env


def _resolve_script(
    script: str, cwd: str, search_path: str, key: str, report: Callable[[str | None, str], None]
) -> tuple[str | None, bool]:
    """(absolute script or None, whether it is a shell command run with bash -c)."""
    candidate = _absolute(script, cwd)
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


def _explicit_interpreter(
    value: str, cwd: str, search_path: str, report: Callable[[str | None, str], None]
) -> str | None:
    if value.strip().lower() == "none":
        return None
    if "/" in value:
        path = _absolute(value, cwd)
        if not os.path.isfile(path):
            report("interpreter", f"interpreter not found: {path}")
        return path
    candidates = (value, "python3") if value == "python" else (value,)
    for candidate in candidates:
        if found := shutil.which(candidate, path=search_path):
            return os.path.abspath(found)
    report("interpreter", f"interpreter {value!r} not found on PATH")
    return None


def _interpreter_by_extension(
    script: str, search_path: str, report: Callable[[str | None, str], None]
) -> str | None:
    extension = os.path.splitext(script)[1].lower()
    programs = EXTENSION_INTERPRETERS.get(extension)
    if programs is None:
        if not os.access(script, os.X_OK):
            report(
                "script", f"{script} is not executable and has no known extension; set interpreter"
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


def spec_from_mapping(
    raw: Mapping[str, Any],
    *,
    cwd: str,
    base_env: Mapping[str, str] | None = None,
    env_profile: str | None = None,
    source: str | None = None,
    file_label: str = "<command line>",
) -> AppSpec:
    """Validate and resolve one app given as a dict (the CLI builds one from its flags).

    `cwd` is where relative paths start (the shell's cwd for the CLI). Raises ConfigError.
    """
    ctx = Context(
        label=file_label,
        base_dir=os.path.abspath(cwd),
        base_env=os.environ if base_env is None else base_env,
        env_profile=env_profile,
        source=source,
    )
    problems: list[Problem] = []
    spec = build_app(raw, ctx, 0, problems)
    if env_profile is not None and f"{PROFILE_PREFIX}{env_profile}" not in raw:
        label = spec.name if spec else label_for(raw, 0)
        problems.append(Problem(file_label, label, None, f"unknown env profile {env_profile!r}"))
    if problems or spec is None:
        raise ConfigError(problems)
    return spec
