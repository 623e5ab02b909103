"""Provides load_ecosystem: an ecosystem file (any format, any PM2 top-level form) -> apps.

The file's folder anchors every relative path, so a checked-in ecosystem file works from
wherever it is started. Every problem in the file is reported in one ConfigError.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corral.config import bounds, coerce, depends, envfile, limits
from corral.config.build import Context, Locate, Resolved, label_for, resolve_app, spec_from_mapping
from corral.config.envfile import EnvFile, Layer
from corral.config.environment import user_environ
from corral.config.errors import ConfigError, Problem
from corral.config.formats import read_document
from corral.config.positions import Path as KeyPath
from corral.config.positions import Positions
from corral.config.schema import PROFILE_FILE_PREFIX, PROFILE_PREFIX, SPELLINGS, suggest
from corral.config.spec import AppSpec

DEFAULT_FILES: tuple[str, ...] = (
    "corral.toml",
    "ecosystem.toml",
    "ecosystem.config.js",
    "ecosystem.config.cjs",
    "ecosystem.config.mjs",
    "ecosystem.json",
    "ecosystem.yaml",
    "ecosystem.yml",
    "ecosystem.json5",
)
"""Files `corral start` with no argument looks for, in this order."""

_TOP_LEVEL = ("apps", "pm2", "deploy", "env_file")
_SCRIPT_KEYS = ("script", "cmd", "command", "exec")


@dataclass(frozen=True, slots=True)
class Ecosystem:
    """A loaded ecosystem file."""

    path: str
    """Absolute path of the file."""
    apps: tuple[AppSpec, ...]
    """Resolved apps, in file order (only those asked for with `only`)."""
    deploy: dict[str, Any]
    """The `deploy` section as written (profile -> settings); empty if absent."""
    resolved: tuple[Resolved, ...] = ()
    """Each app of `apps` with where its settings came from (for `corral config`)."""
    warnings: tuple[Problem, ...] = ()
    """What was accepted but may not be what was meant; the CLI prints them."""


def find_default_config(cwd: Path) -> Path | None:
    """The first of DEFAULT_FILES that exists in CWD, or None."""
    for name in DEFAULT_FILES:
        candidate = cwd / name
        if candidate.is_file():
            return candidate
    return None


def load_ecosystem(
    path: str | os.PathLike[str],
    *,
    env_profile: str | None = None,
    base_env: Mapping[str, str] | None = None,
    only: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    base_dir: str | None = None,
    label: str | None = None,
) -> Ecosystem:
    """Read, validate and resolve the apps of an ecosystem file; raise ConfigError if wrong.

    `env_profile` selects `env_<profile>` (and `deploy.<profile>.env`); `base_env` is the
    environment the apps inherit (default: the user's, see `user_environ`); `only` keeps
    just the apps so named; `overrides` are attributes from the command line, laid over
    every app's (`start FILE --no-autostart`). `base_dir` anchors relative paths (default:
    the file's folder) and `label` names the file in messages: `corral start -` reads
    stdin through a temporary file this way.
    """
    absolute = os.path.abspath(path)
    label = label or os.fspath(path)
    env = user_environ() if base_env is None else base_env
    document = read_document(Path(absolute), label=label, env=env)
    _check_bounds(document.data, label, document.positions)
    problems: list[Problem] = []
    entries, deploy = _split_top_level(document.data, label, document.positions, problems)
    if len(entries) > limits.MAX_APPS:
        message = f"{len(entries):,} apps; at most {limits.MAX_APPS:,} are allowed in one file"
        key = "apps" if isinstance(document.data, Mapping) else None
        raise ConfigError([Problem(label, None, key, message)])
    raw_apps = [raw for raw, _ in entries]

    deploy_env: dict[str, str | None] = {}
    if env_profile is not None:
        deploy_env = _deploy_env(deploy, env_profile, label, problems)
        _check_profile(env_profile, raw_apps, deploy, label, problems)

    files, file_layers = _top_env_files(document.data, base_dir or os.path.dirname(absolute), env)
    for message in file_layers[1]:
        where = document.positions.get(("env_file",), (None, None))
        problems.append(Problem(label, None, "env_file", message, *where))

    selected = list(range(len(entries)))
    if only is not None:
        selected = _select(only, raw_apps, label, problems)

    resolved: list[Resolved] = []
    seen: dict[str, int] = {}
    for index in selected:
        raw, root = entries[index]
        ctx = Context(
            label=label,
            base_dir=base_dir or os.path.dirname(absolute),
            base_env=env,
            env_profile=env_profile,
            source=absolute if label == os.fspath(path) else label,
            deploy_env=deploy_env,
            locate=_locator(document.positions, root),
            overrides=overrides or {},
            env_files=files,
            env_file_layers=tuple(file_layers[0]),
        )
        app = resolve_app(raw, ctx, index, problems)
        if app is None:
            continue
        name = app.spec.name
        if name in seen:
            where = ctx.locate("name") or (None, None)
            message = f"duplicate app name {name!r} (app #{seen[name] + 1} has it too)"
            problems.append(Problem(label, name, "name", message, *where))
            continue
        seen[name] = index
        resolved.append(app)
    _check_depends(resolved, raw_apps, seen, entries, document.positions, label, problems)
    processes = sum(app.spec.instances for app in resolved)
    if processes > limits.MAX_PROCESSES:
        message = (
            f"{processes:,} instances in all; at most {limits.MAX_PROCESSES:,} per file "
            f"(and {limits.MAX_INSTANCES:,} per app)"
        )
        problems.append(Problem(label, None, "instances", message))
    if problems:
        raise ConfigError(problems)
    warnings = tuple(warning for app in resolved for warning in app.warnings)
    return Ecosystem(
        path=absolute,
        apps=tuple(app.spec for app in resolved),
        deploy=deploy,
        resolved=tuple(resolved),
        warnings=warnings,
    )


def _top_env_files(
    data: Any, base_dir: str, env: Mapping[str, str]
) -> tuple[tuple[EnvFile, ...], tuple[list[Layer], list[str]]]:
    """The top-level `env_file` (beside `apps`), read once: every app's env lies over it."""
    if not isinstance(data, Mapping) or "env_file" not in data:
        return (), ([], [])
    if not any(key in data for key in ("apps", "pm2")):
        return (), ([], [])  # the file is one app: its env_file is the app's own
    try:
        files = envfile.env_files(coerce.env_files(data["env_file"]), base_dir)
    except ValueError as exc:
        return (), ([], [str(exc)])
    return files, envfile.read_env_files(files, env)


def _check_depends(
    resolved: list[Resolved],
    raw_apps: list[Any],
    indexes: Mapping[str, int],
    entries: list[tuple[Any, KeyPath]],
    positions: Positions,
    label: str,
    problems: list[Problem],
) -> None:
    """`depends_on` across the file: names known (in the whole file, even under --only),
    no cycle (the engine enforces it: engine/gate.py)."""
    graph = {app.spec.name: app.spec.depends_on for app in resolved if app.spec.depends_on}
    if not graph:
        return
    known = {label_for(raw, i) for i, raw in enumerate(raw_apps) if isinstance(raw, Mapping)}
    known |= {app.spec.name for app in resolved}

    def where(app: str) -> tuple[int | None, int | None]:
        root = entries[indexes[app]][1]
        return _locator(positions, root)("depends_on") or (None, None)

    def report(app: str, message: str) -> None:
        problems.append(Problem(label, app, "depends_on", message, *where(app)))

    depends.check(graph, known, report)


def _check_bounds(data: Any, label: str, positions: Positions) -> None:
    """Nesting and size past config.limits, named by app and key where it is in an app."""
    found = bounds.walk(data)
    if found is None:
        return
    path, message = found
    app: str | None = None
    key: str | None = ".".join(str(part) for part in path) or None
    start = 2 if path[:1] in (("apps",), ("pm2",)) else 1 if isinstance(data, list) else None
    if start is not None and len(path) > start:
        container = data[path[0]] if start == 2 else data
        index = path[start - 1]
        if isinstance(index, int) and isinstance(container[index], Mapping):
            app = label_for(container[index], index)
            key = str(path[start])
    line, column = None, None
    for depth in range(len(path), 0, -1):  # the deepest located key on the way
        if (where := positions.get(path[:depth])) is not None:
            line, column = where
            break
    raise ConfigError([Problem(label, app, key, message, line, column)])


def _locator(positions: Positions, root: KeyPath) -> Locate:
    def locate(key: str | None) -> tuple[int, int] | None:
        return positions.get(root if key is None else (*root, key))

    return locate


Report = Callable[[str | None, str], None]


def _split_top_level(
    data: Any, label: str, positions: Positions, problems: list[Problem]
) -> tuple[list[tuple[Any, KeyPath]], dict[str, Any]]:
    """The raw apps (each with its path in the document) and the deploy section."""

    def problem(key: str | None, message: str) -> None:
        line, column = positions.get((key,), (None, None)) if key else (None, None)
        problems.append(Problem(label, None, key, message, line, column))

    if isinstance(data, list):
        return [(raw, (index,)) for index, raw in enumerate(data)], {}
    if data is None or (isinstance(data, Mapping) and not data):
        problem(None, "the file is empty; expected an 'apps' list")
        return [], {}
    if not isinstance(data, Mapping):
        found = coerce.describe(data)
        problem(None, f"expected a table/object or a list at top level, not {found}")
        return [], {}
    deploy = _deploy_section(data, problem)
    key = "apps" if "apps" in data else "pm2" if "pm2" in data else None
    if key is None:
        if any(k in data for k in (*_SCRIPT_KEYS, "name")):  # the file is one app
            return [({k: v for k, v in data.items() if k != "deploy"}, ())], deploy
        _unknown_top_level(data, problem)
        problem(None, "no apps: expected an 'apps' list (or one app with a 'script')")
        return [], deploy
    if "apps" in data and "pm2" in data:
        problem("pm2", "give apps under 'apps' or 'pm2', not both")
    _unknown_top_level(data, problem)
    apps = data[key]
    if isinstance(apps, list):
        return [(raw, (key, index)) for index, raw in enumerate(apps)], deploy
    if isinstance(apps, Mapping):
        return [(apps, (key,))], deploy
    problem(key, f"must be a list of apps or one app, not {coerce.describe(apps)}")
    return [], deploy


def _deploy_section(data: Mapping[str, Any], problem: Report) -> dict[str, Any]:
    section = data.get("deploy")
    if section is None and "deploy" not in data:
        return {}
    if isinstance(section, Mapping):
        return dict(section)
    problem("deploy", f"must be a table/object, not {coerce.describe(section)}")
    return {}


def _unknown_top_level(data: Mapping[str, Any], problem: Report) -> None:
    for other in data:
        if other not in _TOP_LEVEL:
            hint = suggest(str(other), list(_TOP_LEVEL))
            reason = "not supported" if other == "static" else f"unknown top-level key{hint}"
            problem(str(other), reason)


def _deploy_env(
    deploy: Mapping[str, Any], profile: str, label: str, problems: list[Problem]
) -> dict[str, str | None]:
    """`deploy.<profile>.env`, which PM2 layers under every app's env."""
    target = deploy.get(profile)
    if not isinstance(target, Mapping) or "env" not in target:
        return {}
    try:
        return coerce.env(target["env"])
    except ValueError as exc:
        problems.append(Problem(label, None, f"deploy.{profile}.env", str(exc)))
        return {}


def _check_profile(
    profile: str,
    raw_apps: list[Any],
    deploy: Mapping[str, Any],
    label: str,
    problems: list[Problem],
) -> None:
    """A profile nothing defines is almost surely a typo (`--env prod` for `env_production`)."""
    known = {str(k) for k in deploy}
    for raw in raw_apps:
        if isinstance(raw, Mapping):
            for written in map(str, raw):
                if written.startswith(PROFILE_FILE_PREFIX):
                    known.add(written[len(PROFILE_FILE_PREFIX) :])
                elif written.startswith(PROFILE_PREFIX) and written not in SPELLINGS:
                    known.add(written[len(PROFILE_PREFIX) :])
    if profile not in known:
        message = f"unknown env profile {profile!r}{suggest(profile, sorted(known))}"
        problems.append(Problem(label, None, None, message))


def _select(
    only: Sequence[str], raw_apps: list[Any], label: str, problems: list[Problem]
) -> list[int]:
    names = [
        label_for(raw, i) if isinstance(raw, Mapping) else f"#{i + 1}"
        for i, raw in enumerate(raw_apps)
    ]
    for wanted in only:
        if wanted not in names:
            message = f"no app named {wanted!r} in this file{suggest(wanted, names)}"
            problems.append(Problem(label, None, None, message))
    return [i for i, name in enumerate(names) if name in only]


__all__ = [
    "DEFAULT_FILES",
    "Ecosystem",
    "find_default_config",
    "load_ecosystem",
    "spec_from_mapping",
]
