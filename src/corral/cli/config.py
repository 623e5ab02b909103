"""Provides `corral config FILE`: what corral read from an ecosystem file, run nothing.

Every app with every resolved setting and where it came from (the file, a profile, the
command line, a rule such as PM2's cluster default, or corral's default), its
environment by layer, its log files, and the warnings: the first step of a migration
from PM2. No daemon is started or asked; a bad file exits 2 as `start` would.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from corral.cli.main import UsageError

if TYPE_CHECKING:  # the parsers load when the verb runs, not when `corral --help` does
    from corral.config.build import Resolved
    from corral.config.load import Ecosystem


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "config",
        help="show what corral reads from an ecosystem file (starts nothing)",
        description=(
            "Show every app of FILE with every resolved setting and where it came from "
            "(file, profile, command line, derived, default), and the warnings. "
            "Starts nothing, and no daemon."
        ),
    )
    parser.add_argument("file", help="ecosystem file (TOML, JSON, YAML or JS)")
    parser.add_argument("--env", dest="env_profile", help="layer env_<ENV> over env")
    parser.add_argument("--only", help="comma-separated app names")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="show the values read from env files (masked otherwise; keys are always shown)",
    )
    parser.set_defaults(module=__name__)


def run(args: argparse.Namespace) -> int:
    from corral.config import ConfigError, load_ecosystem

    only = [name for name in args.only.split(",") if name] if args.only else None
    try:
        eco = load_ecosystem(args.file, env_profile=args.env_profile, only=only)
    except ConfigError as exc:
        raise UsageError(f"bad config:\n{exc}") from None
    report = describe(eco, args.env_profile, show_secrets=args.show_secrets)
    if args.json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(render(report))
    return 0


def describe(eco: Ecosystem, profile: str | None, *, show_secrets: bool = False) -> dict[str, Any]:
    """The report as plain data: what `--json` prints and the text is made from.

    Values read from env files are masked unless SHOW_SECRETS: they are where secrets live,
    and this report is pasted into issues and chats."""
    return {
        "file": eco.path,
        "profile": profile,
        "apps": [_app(app, show_secrets) for app in eco.resolved],
        "warnings": [str(warning) for warning in eco.warnings],
    }


def _app(app: Resolved, show_secrets: bool) -> dict[str, Any]:
    from corral.config.build import DEFAULT
    from corral.config.envfile import MASK

    spec = app.spec.to_dict()
    settings = {}
    for item in fields(app.spec):
        if item.name in ("env", "source"):
            continue
        origin = app.origins.get(item.name, DEFAULT)
        settings[item.name] = {"value": spec[item.name], "from": origin.kind}
        if origin.detail:
            settings[item.name]["detail"] = origin.detail
    secret = set(app.spec.secret_env) if not show_secrets else set()
    env = {
        name: {
            "value": MASK if name in secret else value,
            "from": app.env_origins.get(name, "inherited"),
        }
        for name, value in sorted(app.spec.env.items())
    }
    return {
        "name": app.spec.name,
        "settings": settings,
        "env": env,
        "logs": _log_files(app),
        "warnings": [str(warning) for warning in app.warnings],
    }


def _log_files(app: Resolved) -> dict[str, str | None]:
    """The files each process writes, with `<id>` where PM2 puts the process id."""
    from corral.engine.logfiles import log_paths
    from corral.home import home

    marker = 987_654_321  # an id no real process has, swapped for "<id>" below
    paths = log_paths(app.spec, marker, home().root)

    def shown(path: str | None) -> str | None:
        return None if path is None else path.replace(str(marker), "<id>")

    return {"out": shown(paths.out), "err": shown(paths.err), "combined": shown(paths.combined)}


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value) if value else "[]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and {"kind", "target"} <= value.keys():
        from corral.figures import probe_text

        return probe_text(value)
    return str(value)


def render(report: dict[str, Any]) -> str:
    """The report for people: one block per app, settings in three columns."""
    lines = [f"{report['file']}" + (f" (--env {report['profile']})" if report["profile"] else "")]
    for app in report["apps"]:
        lines += ["", f"app {app['name']}"]
        width = max(len(key) for key in app["settings"])
        shown = {key: _value(setting["value"]) for key, setting in app["settings"].items()}
        column = min(max(len(text) for text in shown.values()), 40)
        for key, setting in app["settings"].items():
            origin = setting["from"] + (f": {setting['detail']}" if "detail" in setting else "")
            lines.append(f"  {key:<{width}}  {shown[key]:<{column}}  [{origin}]")
        lines.append("  log files")
        for stream, path in app["logs"].items():
            if path is not None:
                lines.append(f"    {stream:<8}  {path}")
        own = {name: var for name, var in app["env"].items() if var["from"] != "inherited"}
        inherited = len(app["env"]) - len(own)
        lines.append(f"  env ({inherited} inherited from this shell, not shown; --json has all)")
        for name, var in own.items():
            lines.append(f"    {name}={var['value']}    [{var['from']}]")
    if report["warnings"]:
        lines += ["", "warnings"]
        lines += [f"  {warning}" for warning in report["warnings"]]
    return "\n".join(lines) + "\n"
