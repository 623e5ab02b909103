"""Provides `corral ecosystem` (alias `init`): write a starter ecosystem file, as `pm2 init` does.

TOML is corral's native format, so `ecosystem.toml` is what it writes: a file `corral
start` finds with no argument, with comments that say what each key does (JSON has no
comments; `--format json|yaml` writes the same app without them). PM2's `simple` mode
writes just the app. Unlike `pm2 init`, an existing file is never overwritten without
`--force`: it is likely the user's real config.
"""

from __future__ import annotations

import argparse
import os

from corral.cli.main import Failure

FULL_TOML = """\
# corral ecosystem file: one [[apps]] table per program, with PM2's attribute names
# (JSON and YAML files take the same keys). `corral start` in this folder starts
# every app below; `corral up` runs them in the foreground with the terminal UI.
# Every key is described in corral's docs/config.md.

[[apps]]
name = "app"
script = "app.py"        # .py runs with corral's Python, .js with node; or a command line
# args = ["--port", "8000"]
# cwd = "."              # relative paths are relative to this file's folder
# instances = 2          # or "max": one per CPU
# listen = [":8000"]     # bound once and shared by every instance (cluster mode)
# env = { APP_ENV = "development" }
# env_production = { APP_ENV = "production" }   # corral start --env production
# max_memory_restart = "300M"
# watch = true           # restart when files under cwd change
# cron_restart = "0 3 * * *"
# time = true            # prefix each log line with the time

# [deploy.production]    # corral deploy production setup, then: corral deploy production
# user = "deploy"
# host = ["203.0.113.10"]
# ref = "origin/main"
# repo = "git@example.com:me/app.git"
# path = "/srv/app"
# post-deploy = "corral startOrReload ecosystem.toml --env production"
"""

SIMPLE_TOML = """\
[[apps]]
name = "app"
script = "app.py"
"""

FULL_APP = {
    "name": "app",
    "script": "app.py",
    "instances": 1,
    "env": {"APP_ENV": "development"},
    "env_production": {"APP_ENV": "production"},
}
SIMPLE_APP = {"name": "app", "script": "app.py"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "ecosystem",
        aliases=["init"],
        help="write a starter ecosystem file (ecosystem.toml)",
        description="Write a starter ecosystem file in this folder: ecosystem.toml, with "
        "comments on the keys you will want first (simple: just the app). An existing file "
        "is left alone unless --force.",
    )
    parser.add_argument(
        "mode", nargs="?", choices=["simple"], help="simple: the app alone, no comments"
    )
    parser.add_argument(
        "--format",
        choices=["toml", "json", "yaml"],
        default="toml",
        help="file format (default toml, corral's own)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.set_defaults(module=__name__)


def starter(fmt: str, simple: bool) -> str:
    """The text of a starter file in FMT."""
    if fmt == "toml":
        return SIMPLE_TOML if simple else FULL_TOML
    body = {"apps": [SIMPLE_APP if simple else FULL_APP]}
    if fmt == "json":
        import json

        return json.dumps(body, indent=2) + "\n"
    import yaml

    text: str = yaml.safe_dump(body, sort_keys=False)
    return text


def run(args: argparse.Namespace) -> int:
    path = os.path.abspath(f"ecosystem.{args.format}")
    if os.path.exists(path) and not args.force:
        raise Failure(f"{path} already exists; --force replaces it")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(starter(args.format, args.mode == "simple"))
    print(f"[corral] wrote {path}")
    print("[corral] edit it, then `corral start` in this folder runs its apps")
    return 0
