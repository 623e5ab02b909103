"""Provides resolve_app and spec_from_mapping: one raw app table -> a resolved AppSpec.

Everything relative is resolved here (cwd, script, interpreter, log and watch paths) and
the child's environment is assembled, so the engine never looks at a config file again.
`_resolve` runs the phases in order, each reading what the ones before settled: values,
profile, cwd, environment, program (script and interpreter), name, instances, logs,
watch, checks. Every setting remembers where it came from (`corral config` shows it).
Problems are collected per app and labelled with the app's final name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from corral.config import checks, coerce, envfile, program, runtime
from corral.config.draft import DEFAULT, Context, Draft, Locate, Origin, Report, Resolved
from corral.config.envfile import Layer
from corral.config.environment import layer_env, user_environ
from corral.config.errors import ConfigError, Problem
from corral.config.program import Program, absolute, default_name, is_command
from corral.config.schema import KINDS, PROFILE_PREFIX, AppKeys, normalise_keys
from corral.config.spec import AppSpec, health_check_probe

# Re-exported: callers and other engineers' modules import them from here.
__all__ = [
    "DEFAULT",
    "Context",
    "Draft",
    "Locate",
    "Origin",
    "Report",
    "Resolved",
    "build_app",
    "default_name",
    "is_command",
    "label_for",
    "resolve_app",
    "spec_from_mapping",
]

_NOT_SPEC_FIELDS = ("port", "filter_env", "append_env_to_name", "disable_logs")
_PATH_KEYS = ("out_file", "error_file", "log_file", "pid_file")


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


def resolve_app(raw: object, ctx: Context, index: int, problems: list[Problem]) -> Resolved | None:
    """Resolve one app; append its problems (and return None) when it has any."""
    issues: list[tuple[str | None, str]] = []

    def report(key: str | None, message: str) -> None:
        issues.append((key, message))

    outcome: tuple[AppSpec, Draft, dict[str, str]] | None = None
    label = f"#{index + 1}"
    if isinstance(raw, Mapping):
        label = label_for(raw, index)
        keys = normalise_keys(raw, report)
        outcome = _resolve(keys, ctx, report)
        if outcome is not None:
            label = outcome[0].name
    else:
        report(None, f"an app must be a table/object, not {coerce.describe(raw)}")
    problems.extend(_located(issues, ctx, label))
    if issues or outcome is None:
        return None
    spec, draft, env_origins = outcome
    warnings = tuple(_located(draft.warnings, ctx, label))
    return Resolved(spec, draft.origins, env_origins, warnings)


def build_app(raw: object, ctx: Context, index: int, problems: list[Problem]) -> AppSpec | None:
    """Resolve one app to its AppSpec; append its problems (and return None) when it has any."""
    resolved = resolve_app(raw, ctx, index, problems)
    return resolved.spec if resolved else None


def _located(issues: list[tuple[str | None, str]], ctx: Context, label: str) -> list[Problem]:
    located = [(key, message, ctx.locate(key) or (None, None)) for key, message in issues]
    located.sort(key=lambda item: item[2][0] or 0)  # file order when lines are known
    return [Problem(ctx.label, label, key, msg, line, col) for key, msg, (line, col) in located]


def _resolve(
    keys: AppKeys, ctx: Context, report: Report
) -> tuple[AppSpec, Draft, dict[str, str]] | None:
    """The phases, in order; None when a problem leaves nothing sensible to resolve further."""
    draft = Draft(keys, ctx, report)
    _read_values(draft)
    profile_env = _read_profiles(draft)
    cwd = _resolve_cwd(draft)
    if cwd is None:
        return None  # every path below would be reported missing too
    env, env_origins = _environment(draft, profile_env)
    found = _program(draft, cwd, env)
    if found is None:
        return None
    if runtime.is_python(found.interpreter) and "PYTHONUNBUFFERED" not in env:
        env["PYTHONUNBUFFERED"] = "1"  # print() reaches the log as it happens
        env_origins["PYTHONUNBUFFERED"] = "corral"
    name = _name(draft, found)
    _instances(draft, found, env)
    _logs(draft, cwd)
    _watch(draft, cwd)
    _check(draft, name, env)
    fields = {k: v for k, v in draft.values.items() if k not in _NOT_SPEC_FIELDS}
    fields.update(name=name, script=found.script, cwd=cwd, interpreter=found.interpreter, env=env)
    fields.update(source=ctx.source)
    return AppSpec(**fields), draft, env_origins


def _read_values(draft: Draft) -> None:
    """Coerce each attribute the file gives, then the command line's over them.

    What neither gives keeps AppSpec's default (origin "default").
    """
    for canonical, entry in draft.keys.attrs.items():
        try:
            draft.values[canonical] = coerce.COERCE[KINDS[canonical]](entry.value)
            alias = entry.key if entry.key != canonical else ""
            draft.origins[canonical] = Origin(draft.ctx.origin, alias)
        except ValueError as exc:
            draft.report(entry.key, str(exc))
    for canonical, value in draft.ctx.overrides.items():
        try:
            draft.values[canonical] = coerce.COERCE[KINDS[canonical]](value)
            draft.origins[canonical] = Origin("cli")
        except ValueError as exc:
            draft.report(canonical, f"(from the command line) {exc}")


def _read_profiles(draft: Draft) -> dict[str, str | None]:
    """Check every `env_<profile>` table; return the one `--env` selects (or none)."""
    chosen: dict[str, str | None] = {}
    for profile, entry in draft.keys.profiles.items():
        try:
            table = coerce.env(entry.value)
        except ValueError as exc:
            draft.report(entry.key, str(exc))
            continue
        if profile == draft.ctx.env_profile:
            chosen = table
    wanted = draft.ctx.env_profile
    given = {*draft.keys.profiles, *draft.keys.profile_files}
    if wanted is not None and wanted not in given:
        draft.warn(None, f"has no env_{wanted}; it runs with its plain env (as in PM2)")
    return chosen


def _resolve_cwd(draft: Draft) -> str | None:
    value: str | None = draft.values.get("cwd")
    if value is None:
        where = "the file's folder" if draft.ctx.origin == "file" else "the current folder"
        draft.origins["cwd"] = Origin("default", where)
        return os.path.normpath(draft.ctx.base_dir)
    cwd = absolute(value, draft.ctx.base_dir)
    if not os.path.isdir(cwd):
        draft.report(draft.written("cwd"), f"cwd not found: {cwd}")
        return None
    return cwd


def _environment(
    draft: Draft, profile_env: Mapping[str, str | None]
) -> tuple[dict[str, str], dict[str, str]]:
    """base env (minus filter_env) < deploy.<profile>.env < the ecosystem's env files <
    the app's env files < env < env_<profile> < port."""
    profile = draft.ctx.env_profile
    layers: list[tuple[str, Mapping[str, str | None]]] = [
        (f"deploy.{profile}.env", draft.ctx.deploy_env),
        *draft.ctx.env_file_layers,
        *_env_files(draft),
        (draft.written("env"), draft.values.get("env", {})),
        (f"{PROFILE_PREFIX}{profile}", profile_env),
    ]
    if "port" in draft.values:
        layers.append((draft.written("port"), {"PORT": str(draft.values["port"])}))
    entry = draft.keys.attrs.get("filter_env")
    exact = entry is not None and isinstance(entry.value, str)
    env, origins = layer_env(
        draft.ctx.base_env, draft.values.get("filter_env", False), exact, layers
    )
    secret = tuple(sorted(k for k, where in origins.items() if where.startswith(envfile.ORIGIN)))
    if secret:
        draft.derive("secret_env", secret, "values read from env files")
    if draft.values.get("env_file"):
        # What an env file read again (reload, restart --update-env) must not override.
        tables = {draft.written("env"), f"{PROFILE_PREFIX}{profile}", draft.written("port")}
        pinned = tuple(sorted(k for k, where in origins.items() if where in tables))
        if pinned:
            draft.derive("env_pinned", pinned, "set by env, env_<profile> or port")
    return env, origins


def _env_files(draft: Draft) -> list[Layer]:
    """The app's own env files, read over the ecosystem's; `env_file` lists both in order."""
    own = envfile.env_files(draft.values.get("env_file", ()), draft.ctx.base_dir)
    layers, errors = envfile.read_env_files(own, draft.ctx.base_env, draft.ctx.env_file_layers)
    for error in errors:
        draft.report(draft.written("env_file"), error)
    files = draft.ctx.env_files + own
    entry = draft.keys.profile_files.get(draft.ctx.env_profile or "")
    for other in draft.keys.profile_files.values():
        try:
            written = coerce.env_files(other.value)
        except ValueError as exc:
            draft.report(other.key, str(exc))
            continue
        if other is entry:
            chosen = envfile.env_files(written, draft.ctx.base_dir)
            below = (*draft.ctx.env_file_layers, *layers)
            more, errors = envfile.read_env_files(chosen, draft.ctx.base_env, below)
            for error in errors:
                draft.report(other.key, error)
            layers += more
            files += chosen
            draft.origins["env_file"] = Origin("profile", other.key)
    if files:
        draft.values["env_file"] = tuple(file.spelling for file in files)
        if not own and entry is None:
            draft.origins["env_file"] = Origin("derived", "the ecosystem's top-level env_file")
    return layers


def _program(draft: Draft, cwd: str, env: Mapping[str, str]) -> Program | None:
    """The script (a file, a program on PATH, or a shell command) and its interpreter."""
    if "script" not in draft.values:
        if "script" not in draft.keys.attrs:
            draft.report("script", "script is required (the program to run)")
        return None
    written: str = draft.values["script"]
    search_path = env.get("PATH", draft.ctx.base_env.get("PATH", os.defpath))
    script, command = program.resolve_script(
        written, cwd, search_path, draft.written("script"), draft.report
    )
    interpreter: str | None = None
    origin = "none"
    if command:
        for canonical in ("interpreter", "interpreter_args", "args"):
            if draft.values.get(canonical) not in (None, (), "none"):
                draft.report(
                    draft.written(canonical), "cannot be used with a command string as script"
                )
        draft.derive("args", ("-c", written), "a command string runs as bash -c")
    elif "interpreter" in draft.values:
        interpreter = program.explicit_interpreter(
            draft.values["interpreter"],
            cwd,
            search_path,
            draft.written("interpreter"),
            draft.report,
        )
        origin = "file"
    elif script is not None:
        interpreter = program.interpreter_by_extension(
            script, search_path, draft.written("script"), draft.report
        )
        origin = "extension"
    if script is None:
        return None
    if origin == "extension" and interpreter is not None:
        draft.origins["interpreter"] = Origin("derived", "by the script's extension")
    return Program(written, script, command, interpreter, origin)


def _name(draft: Draft, found: Program) -> str:
    name: str = draft.values.get("name") or default_name(found.written, found.command)
    if "name" not in draft.values:
        draft.origins["name"] = Origin("derived", "from the script")
    if draft.values.get("append_env_to_name") and draft.ctx.env_profile:
        name = f"{name}-{draft.ctx.env_profile}"
        draft.origins["name"] = Origin("derived", "append_env_to_name")
    return name


def _instances(draft: Draft, found: Program, env: Mapping[str, str]) -> None:
    """exec_mode and shared sockets: PM2's Node rule (for Python too), `listen` implying
    cluster."""
    values = draft.values
    if _auto_cluster(found.interpreter, found.script, draft.keys, values):
        # PM2 switches Node apps with `instances` to cluster mode; corral does it for Python
        # too, and shares the port their own bind()/listen() asks for (engine/shim.py).
        if runtime.is_node(found.interpreter):
            draft.derive("exec_mode", "cluster", "a Node app with instances (as PM2)")
            port = values.get("port") or env.get("PORT")
            if port and not values.get("listen"):
                draft.derive("listen", (f":{port}",), "the Node app's PORT")
        else:
            draft.derive("exec_mode", "cluster", "a Python app with instances (shares its port)")
    if values.get("listen"):
        if values.get("exec_mode") == "fork":
            draft.report(
                draft.written("listen"),
                "shared sockets need exec_mode = 'cluster' (or leave it out)",
            )
        if values.get("exec_mode") != "cluster":
            draft.derive("exec_mode", "cluster", "listen shares sockets among instances")


def _auto_cluster(
    interpreter: str | None, script: str | None, keys: AppKeys, values: Mapping[str, Any]
) -> bool:
    """PM2's rule: a node app with `instances` given, and exec_mode not forced to fork;
    corral applies it to Python apps too (PM2 forks N copies that cannot share a port)."""
    given = "instances" in keys.attrs and values.get("exec_mode") != "fork"
    return given and (runtime.is_node(interpreter) or runtime.is_python(interpreter, script))


def _logs(draft: Draft, cwd: str) -> None:
    """Log paths made absolute, and PM2's defaults for merging and timestamps."""
    values = draft.values
    for key in _PATH_KEYS:
        path = values.get(key)
        if path is None or path == coerce.DEV_NULL:
            continue
        if not (key == "log_file" and path == coerce.LOG_FILE_DEFAULT):
            values[key] = absolute(path, cwd)
    if values.get("disable_logs"):
        values.update(out_file=coerce.DEV_NULL, error_file=coerce.DEV_NULL, log_file=None)
    if "merge_logs" not in values:
        # PM2 (Common.verifyConfs): merged only for an app without `instances` that is
        # not written as cluster; otherwise each process's files get `-<id>`.
        entry = draft.keys.attrs.get("instances")
        counted = entry is not None and _pm2_truthy_instances(entry.value)
        cluster = "exec_mode" in draft.keys.attrs and values.get("exec_mode") == "cluster"
        why = "instances or cluster given: one file per process (as PM2)"
        if not (counted or cluster):
            why = "no instances given: one file for the app (as PM2)"
        draft.derive("merge_logs", not (counted or cluster), why)
    if values.get("time") and values.get("log_date_format"):
        draft.warn(draft.written("log_date_format"), "ignored: time = true wins (as in PM2)")
        draft.derive("log_date_format", None, "time = true wins (as in PM2)")


def _pm2_truthy_instances(value: object) -> bool:
    """PM2 tests `!app.instances` after "max" -> 0 and parseInt: 0, "max" and "" are falsy."""
    if isinstance(value, str):
        leading = re.match(r"\s*[+-]?\d+", value)  # parseInt reads a leading number
        return leading is not None and int(leading.group()) != 0
    return bool(value)


def _watch(draft: Draft, cwd: str) -> None:
    watch = draft.values.get("watch", False)
    if isinstance(watch, tuple):
        draft.values["watch"] = tuple(absolute(path, cwd) for path in watch)


def _check(draft: Draft, name: str, env: Mapping[str, str]) -> None:
    """Checks on the resolved whole: the name as a target, sizes that must fit."""
    namespace = draft.values.get("namespace", "default")
    checks.check_names(
        name, namespace, draft.written("name"), draft.written("namespace"), draft.report
    )
    checks.check_env(env, draft.written("env"), draft.report)
    args = draft.values.get("args", ())
    checks.check_args(
        args, draft.values.get("interpreter_args", ()), draft.written("args"), draft.report
    )
    if "health_check" in draft.values and "readiness_probe" in draft.values:
        draft.report(
            draft.written("health_check"),
            f"is a spelling of readiness_probe; give one of them, not both "
            f"({draft.written('readiness_probe')!r} is given too)",
        )
    elif "health_check" in draft.values:  # `corral config` shows the probe it makes
        probe = health_check_probe(draft.values["health_check"])
        draft.derive("readiness_probe", probe, "health_check is a readiness probe")


def spec_from_mapping(
    raw: Mapping[str, Any],
    *,
    cwd: str,
    base_env: Mapping[str, str] | None = None,
    env_profile: str | None = None,
    source: str | None = None,
    file_label: str = "<command line>",
    warnings: list[Problem] | None = None,
) -> AppSpec:
    """Validate and resolve one app given as a dict (the CLI builds one from its flags).

    `cwd` is where relative paths start (the shell's cwd for the CLI); `base_env` defaults
    to the user's environment (`user_environ`); the app's warnings are added to WARNINGS
    when given. Raises ConfigError.
    """
    ctx = Context(
        label=file_label,
        base_dir=os.path.abspath(cwd),
        base_env=user_environ() if base_env is None else base_env,
        env_profile=env_profile,
        source=source,
        origin="cli" if file_label == "<command line>" else "file",
    )
    problems: list[Problem] = []
    resolved = resolve_app(raw, ctx, 0, problems)
    if env_profile is not None and f"{PROFILE_PREFIX}{env_profile}" not in raw:
        label = resolved.spec.name if resolved else label_for(raw, 0)
        problems.append(Problem(file_label, label, None, f"unknown env profile {env_profile!r}"))
    if problems or resolved is None:
        raise ConfigError(problems)
    if warnings is not None:
        warnings.extend(resolved.warnings)
    return resolved.spec
