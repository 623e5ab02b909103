"""Provides `deploy_target`: one `deploy.<env>` table checked and turned into a DeployTarget.

PM2 only checks that `host`, `repo`, `path` and `ref` are there; corral checks every key
the way it checks apps (unknown keys with a did-you-mean, wrong types, bad host entries)
and reports every problem at once as a ConfigError, so `corral deploy` exits 2 before any
ssh runs. This module does no I/O: the caller reads the file and says where the config
file sits inside the repository (for the default post-deploy hook).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.config.errors import ConfigError, Problem
from corral.config.positions import Positions
from corral.config.schema import suggest

HOOKS = ("pre-setup", "post-setup", "pre-deploy-local", "pre-deploy", "post-deploy")
"""PM2's hook names, hyphenated as PM2 spells them."""

KEYS = (
    "user",
    "host",
    "port",
    "key",
    "ssh_options",
    "forward_agent",
    "forward-agent",
    "needs_tty",
    "repo",
    "ref",
    "path",
    "fetch",
    *HOOKS,
    "env",
)
"""Every key a `deploy.<env>` table may hold (`forward-agent` is PM2's spelling)."""

REQUIRED = ("host", "repo", "ref", "path")

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HOST_PORT = re.compile(r"(?P<host>.+?):(?P<port>\d{1,5})")


@dataclass(frozen=True, slots=True)
class Host:
    """One machine to deploy to, as written in `host` (`[user@]name[:port]`)."""

    label: str
    """The entry as written: output prefix and summary row."""
    name: str
    """Host name or address given to ssh (an ~/.ssh/config alias works)."""
    user: str | None
    """Overrides the env's `user` for this host."""
    port: int | None
    """Overrides the env's `port` for this host."""


@dataclass(frozen=True, slots=True)
class DeployTarget:
    """A checked `deploy.<env>`: where the code goes, how to reach it, and the hooks."""

    env: str
    config_file: str
    """Absolute path of the ecosystem file (hooks that name local files resolve beside it)."""
    hosts: tuple[Host, ...]
    repo: str
    ref: str
    path: str
    """Target folder on each host, expanded by the remote shell (`~`, `$HOME` work)."""
    user: str | None = None
    port: int | None = None
    key: str | None = None
    ssh_options: tuple[str, ...] = ()
    forward_agent: bool = False
    needs_tty: bool = False
    fetch_fast: bool = False
    pre_setup: str | None = None
    post_setup: str | None = None
    pre_deploy_local: str | None = None
    pre_deploy: str | None = None
    post_deploy: str = ""
    env_vars: tuple[tuple[str, str], ...] = ()
    """`env`, exported before post-deploy (PM2 does the same)."""

    @property
    def branch(self) -> str:
        """What `setup` clones: PM2 takes the text after the first `/` of `ref`."""
        return self.ref.split("/", 1)[1] if "/" in self.ref else self.ref


def default_post_deploy(config_in_repo: str, env: str) -> str:
    """PM2 reloads the apps after a deploy; CONFIG_IN_REPO is relative to `current`."""
    return f"corral startOrReload {shlex.quote(config_in_repo)} --env {shlex.quote(env)}"


def parse_host(entry: str) -> Host | str:
    """A Host, or a message saying what is wrong with ENTRY (`[user@]name[:port]`)."""
    text = entry.strip()
    if not text or any(c.isspace() for c in text):
        return "a host must be one non-empty word"
    user, _, rest = text.rpartition("@") if "@" in text else ("", "", text)
    if "@" in text and not user:
        return f"empty user in {entry!r}"
    port: int | None = None
    if rest.startswith("["):  # [v6]:port or [v6]
        close = rest.find("]")
        if close < 0:
            return f"bad bracketed address {entry!r}"
        rest, tail = rest[1:close], rest[close + 1 :]
        if tail:
            if not tail.startswith(":") or not tail[1:].isdigit():
                return f"bad port in {entry!r}"
            port = int(tail[1:])
    elif rest.count(":") == 1:  # name:port; a bare IPv6 address has several colons
        match = _HOST_PORT.fullmatch(rest)
        if match is None:
            return f"bad port in {entry!r} (expected name:PORT)"
        rest, port = match["host"], int(match["port"])
    if not rest:
        return f"no host name in {entry!r}"
    if port is not None and not 0 < port < 65536:
        return f"port {port} out of range in {entry!r}"
    return Host(label=text, name=rest, user=user or None, port=port)


class _Checker:
    """Collects problems for one deploy env, each located at its key when possible."""

    def __init__(self, label: str, env: str, positions: Positions) -> None:
        self.label, self.env, self.positions = label, env, positions
        self.problems: list[Problem] = []

    def report(self, key: str | None, message: str) -> None:
        where = ("deploy", self.env, key) if key else ("deploy", self.env)
        line, column = self.positions.get(where, (None, None))
        dotted = f"deploy.{self.env}.{key}" if key else f"deploy.{self.env}"
        self.problems.append(Problem(self.label, None, dotted, message, line, column))

    def text(self, raw: Mapping[str, Any], key: str) -> str | None:
        """A non-empty string, or None when absent or wrong (then reported)."""
        if key not in raw:
            return None
        value = raw[key]
        if isinstance(value, str) and value.strip():
            return value
        self.report(key, f"must be a non-empty string, not {_describe(value)}")
        return None

    def hook(self, raw: Mapping[str, Any], key: str) -> str | None:
        """A command, or a list of commands run in turn until one fails."""
        value = raw.get(key)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return " && ".join(f"{{ {v}\n}}" for v in value)
        if isinstance(value, list):
            self.report(key, "must be a command or a non-empty list of commands")
            return None
        return self.text(raw, key)

    def flag(self, raw: Mapping[str, Any], *keys: str) -> bool:
        given = [k for k in keys if k in raw]
        if len(given) > 1:
            self.report(given[1], f"given twice (as {given[0]!r} and as {given[1]!r})")
        for key in given[:1]:
            value = raw[key]
            if isinstance(value, bool):
                return value
            self.report(key, f"must be true or false, not {_describe(value)}")
        return False

    def port(self, raw: Mapping[str, Any]) -> int | None:
        if "port" not in raw:
            return None
        value = raw["port"]
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536:
            return value
        self.report("port", f"must be a port number (1-65535), not {_describe(value)}")
        return None

    def words(self, raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
        """A string or a list of strings (each a `host` entry or an `-o` option)."""
        value = raw.get(key)
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
            self.report(key, f"must be a string or a list of strings, not {_describe(value)}")
            return ()
        return tuple(i.strip() for i in items)

    def hosts(self, raw: Mapping[str, Any]) -> tuple[Host, ...]:
        hosts: list[Host] = []
        before = len(self.problems)
        entries = self.words(raw, "host")
        if "host" in raw and not entries and len(self.problems) == before:
            self.report("host", "must name at least one host")
        for entry in entries:
            parsed = parse_host(entry)
            if isinstance(parsed, str):
                self.report("host", parsed)
            elif any(h.label == parsed.label for h in hosts):
                self.report("host", f"{parsed.label!r} is listed twice")
            else:
                hosts.append(parsed)
        return tuple(hosts)

    def env_vars(self, raw: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        value = raw.get("env")
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            self.report("env", f"must be a table of variables, not {_describe(value)}")
            return ()
        out: list[tuple[str, str]] = []
        for name, item in value.items():
            if not _ENV_NAME.fullmatch(str(name)):
                self.report("env", f"{name!r} is not a valid variable name")
            elif isinstance(item, bool):
                out.append((str(name), "true" if item else "false"))
            elif isinstance(item, str | int | float):
                out.append((str(name), str(item)))
            else:
                self.report("env", f"{name}: must be a string or a number, not {_describe(item)}")
        return tuple(out)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


def deploy_target(
    deploy: Mapping[str, Any],
    env: str,
    *,
    label: str,
    config_file: str,
    config_in_repo: str,
    positions: Positions | None = None,
) -> DeployTarget:
    """Check `deploy.ENV` and build its DeployTarget; raise ConfigError listing every problem.

    LABEL is the file as the user named it (for messages); CONFIG_IN_REPO is the file's
    path relative to the repository root, which the default post-deploy hook names.
    """
    check = _Checker(label, env, positions or {})
    if not deploy:
        raise ConfigError([Problem(label, None, "deploy", "this file has no deploy section")])
    raw = deploy.get(env)
    if raw is None:
        known = sorted(str(k) for k in deploy)
        hint = suggest(env, known) or f" (this file has: {', '.join(known)})"
        raise ConfigError([Problem(label, None, "deploy", f"no deploy env {env!r}{hint}")])
    if not isinstance(raw, Mapping):
        check.report(None, f"must be a table/object, not {_describe(raw)}")
        raise ConfigError(check.problems)
    for key in raw:
        if str(key) not in KEYS:
            check.report(str(key), f"unknown deploy key{suggest(str(key), list(KEYS))}")
    for key in REQUIRED:
        if key not in raw:
            check.report(key, "is required")
    hosts = check.hosts(raw)
    fetch = check.text(raw, "fetch")
    if fetch is not None and fetch not in ("fast", "full"):
        check.report("fetch", f"must be 'fast' (shallow) or 'full', not {fetch!r}")
    post_deploy = check.hook(raw, "post-deploy")
    target = DeployTarget(
        env=env,
        config_file=config_file,
        hosts=hosts,
        repo=check.text(raw, "repo") or "",
        ref=check.text(raw, "ref") or "",
        path=check.text(raw, "path") or "",
        user=check.text(raw, "user"),
        port=check.port(raw),
        key=check.text(raw, "key"),
        ssh_options=check.words(raw, "ssh_options"),
        forward_agent=check.flag(raw, "forward_agent", "forward-agent"),
        needs_tty=check.flag(raw, "needs_tty"),
        fetch_fast=fetch == "fast",
        pre_setup=check.hook(raw, "pre-setup"),
        post_setup=check.hook(raw, "post-setup"),
        pre_deploy_local=check.hook(raw, "pre-deploy-local"),
        pre_deploy=check.hook(raw, "pre-deploy"),
        post_deploy=post_deploy or default_post_deploy(config_in_repo, env),
        env_vars=check.env_vars(raw),
    )
    if check.problems:
        raise ConfigError(check.problems)
    return target
