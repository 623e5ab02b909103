"""Provides the read-only verbs: list (ls, l, ps, status), jlist, describe (show) and env.

These are the hot path: they import the socket client, json and this module only (no
engine, asyncio, psutil or config parsers), so `corral jlist` stays near interpreter
start-up time.
"""

from __future__ import annotations

import argparse
import sys
import time

from corral.cli import session

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from corral.daemon.client import Client


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "list", aliases=["ls", "l", "ps", "status"], help="show the process table"
    )
    session.add_json_flag(parser)
    session.add_host_flags(parser)
    parser.set_defaults(module=__name__, action="list")

    parser = sub.add_parser("jlist", help="print every process as one JSON array")
    session.add_host_flags(parser)
    parser.set_defaults(module=__name__, action="jlist")

    parser = sub.add_parser(
        "describe",
        aliases=["show", "desc", "info"],
        help="everything about processes: config, paths, env keys, restarts",
    )
    parser.add_argument("targets", nargs="+", help="id, name, namespace or all")
    session.add_json_flag(parser)
    _secrets_flag(parser)
    parser.set_defaults(module=__name__, action="describe")

    parser = sub.add_parser("env", help="print the environment a process was given")
    parser.add_argument("target", help="id (or name)")
    session.add_json_flag(parser)
    _secrets_flag(parser)
    parser.set_defaults(module=__name__, action="env")


def _secrets_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="show the values read from env files (masked otherwise; keys are always shown)",
    )


def _masked(row: session.Row, show_secrets: bool) -> session.Row:
    """ROW with the values its env files gave replaced by a mask (unless SHOW_SECRETS).

    The JSON output is masked too: it is what gets pasted into tickets."""
    spec = row.get("spec") or {}
    secret = set(spec.get("secret_env") or ())
    if show_secrets or not secret:
        return row

    def mask(env: dict[str, str]) -> dict[str, str]:
        return {k: "****" if k in secret else v for k, v in env.items()}

    masked = dict(row)
    if isinstance(row.get("env"), dict):
        masked["env"] = mask(row["env"])
    masked["spec"] = {**spec, "env": mask(spec.get("env") or {})}
    return masked


def list_(client: Client, args: argparse.Namespace) -> session.Result:
    rows = client.call("list")
    if args.json:
        return session.Result("list", rows, table=False)
    from corral.cli import table

    text = table.render(rows, sys.stdout) + session.persistence_line(client)
    return session.Result("list", rows, table=False, text=text)


def jlist(client: Client, args: argparse.Namespace) -> session.Result:
    return session.Result("jlist", client.call("list"), table=False, json_only=True)


def describe_(client: Client, args: argparse.Namespace) -> session.Result:
    rows = [_masked(row, args.show_secrets) for row in _rows(client, args.targets, args)]
    return session.Result("describe", rows, table=False, text="\n".join(map(describe, rows)))


def env(client: Client, args: argparse.Namespace) -> session.Result:
    rows = [_masked(row, args.show_secrets) for row in _rows(client, [args.target], args)]
    given: dict[str, str] = rows[0].get("env") or (rows[0].get("spec") or {}).get("env") or {}
    text = "".join(f"{k}: {v}\n" for k, v in sorted(given.items()))
    return session.Result("env", rows, table=False, text=text, data=given)


def _rows(client: Client, wanted: list[str], args: argparse.Namespace) -> list[session.Row]:
    from corral.cli import targets  # not for list/jlist, which stay as light as they were

    return targets.call(client, "list", targets.expand(wanted, args))


VERBS: dict[str, Callable[[Client, argparse.Namespace], session.Result]] = {
    "list": list_,
    "jlist": jlist,
    "describe": describe_,
    "env": env,
}
"""`args.action` (set by each verb's parser) -> the function that does it."""


@session.guarded
def run(args: argparse.Namespace) -> int:
    with session.connect() as client:
        return session.render(VERBS[args.action](client, args), args)


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def describe(row: dict[str, Any]) -> str:
    """PM2's `describe` as aligned `key  value` lines, then reasons and env keys."""
    from corral.cli.table import memory, uptime, waiting

    spec: dict[str, Any] = row.get("spec") or {}
    logs: dict[str, Any] = row.get("logs") or {}
    watch = spec.get("watch")
    status = row.get("status")
    pairs = [
        ("status", waiting(row) if status == "waiting" else status),
        ("name", row.get("name")),
        ("namespace", row.get("namespace")),
        ("id", row.get("id")),
        ("instance", row.get("instance")),
        ("pid", row.get("pid") or "-"),
        ("restarts", row.get("restarts")),
        ("unstable restarts", row.get("unstable_restarts")),
        ("uptime", uptime(row.get("uptime_ms", 0)) if row.get("pid") else "-"),
        ("started at", _when(row.get("started_at"))),
        ("created at", _when(row.get("created_at"))),
        ("last exit", _exit(row)),
        ("cpu / memory", f"{row.get('cpu', 0):.0f}% / {memory(row.get('memory', 0))}"),
        ("script path", spec.get("script")),
        ("script args", " ".join(spec.get("args") or ()) or "-"),
        ("interpreter", spec.get("interpreter") or "none"),
        ("interpreter args", " ".join(spec.get("interpreter_args") or ()) or "-"),
        ("exec cwd", spec.get("cwd")),
        ("exec mode", row.get("exec_mode")),
        ("instances", spec.get("instances")),
        ("out log path", logs.get("out") or "-"),
        ("error log path", logs.get("err") or "-"),
        ("combined log path", logs.get("combined") or "-"),
        ("autorestart", spec.get("autorestart")),
        ("max restarts", spec.get("max_restarts")),
        ("min uptime", f"{spec.get('min_uptime')} ms"),
        ("restart delay", f"{spec.get('restart_delay')} ms"),
        ("exp backoff delay", _ms(spec.get("exp_backoff_restart_delay"))),
        ("kill timeout", f"{spec.get('kill_timeout')} ms ({spec.get('kill_signal')} first)"),
        ("stop exit codes", ", ".join(map(str, spec.get("stop_exit_codes") or ())) or "-"),
        (
            "max memory restart",
            memory(spec["max_memory_restart"]) if spec.get("max_memory_restart") else "-",
        ),
        ("cron restart", spec.get("cron_restart") or "-"),
        ("depends on", _depends(spec.get("depends_on") or {})),
        ("watch & reload", _watch(watch, bool(row.get("watch")))),
        ("source", spec.get("source") or "command line"),
    ]
    pairs += _probes(spec, row.get("probe") or {})
    head = f"Describing process with id {row.get('id')} - name {row.get('name')}"
    width = max(len(key) for key, _ in pairs)
    lines = [head, *(f"  {key.ljust(width)}  {value}" for key, value in pairs)]
    reasons = row.get("reasons") or []
    lines.append("  last restart reasons:" if reasons else "  last restart reasons: none")
    lines += [f"    {_reason(reason)}" for reason in reasons]
    env: dict[str, str] = row.get("env") or spec.get("env") or {}
    env_keys = sorted(env)
    lines.append(f"  env keys ({len(env_keys)}): " + ", ".join(env_keys))
    from_files = [key for key in env_keys if key in set(spec.get("secret_env") or ())]
    if from_files:
        files = ", ".join(spec.get("env_file") or ())
        lines.append(f"  from env files ({files}):")
        lines += [f"    {key}={env[key]}" for key in from_files]
    return "\n".join(lines) + "\n"


def _probes(spec: dict[str, Any], standing: dict[str, Any]) -> list[tuple[str, str]]:
    """Each configured probe's settings and where it stands (checked when)."""
    from corral.figures import probe_state_text, probe_text

    pairs: list[tuple[str, str]] = []
    for name in ("readiness", "liveness"):
        probe = spec.get(f"{name}_probe")
        if not probe:
            continue
        pairs.append((f"{name} probe", probe_text(probe)))
        status = standing.get(name)
        if status:
            checked = f" (checked {_when(status.get('last_at'))})" if status.get("last_at") else ""
            pairs.append((f"{name}", probe_state_text(status) + checked))
    return pairs


def _depends(depends_on: dict[str, str]) -> str:
    return ", ".join(f"{name} {condition}" for name, condition in depends_on.items()) or "-"


def _reason(reason: object) -> str:
    if isinstance(reason, dict):
        return f"{_when(reason.get('time'))}  {reason.get('reason')}: {reason.get('detail')}"
    return str(reason)


def _exit(row: dict[str, Any]) -> str:
    if row.get("exit_signal"):
        return f"killed by {row['exit_signal']}"
    if row.get("exit_code") is not None:
        return f"code {row['exit_code']}"
    return "-"


def _ms(value: object) -> str:
    return f"{value} ms" if value is not None else "-"


def _watch(config: object, active: bool) -> str:
    if not config:
        return "disabled"
    what = "cwd" if config is True else ", ".join(map(str, config))  # type: ignore[call-overload]
    return f"{'watching' if active else 'configured (not active yet)'}: {what}"
