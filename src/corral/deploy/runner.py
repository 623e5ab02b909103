"""Provides `run_action`: one deploy action on every host of an env, in parallel, with a report.

Hosts run in threads, each driving one ssh child (waiting on a pipe is all a thread
does here, and this runs in the CLI, not the daemon). Every line a host prints is shown
as it comes, prefixed with `[host] ` so interleaved hosts stay readable; one host failing
never stops the others, and the report holds one row per host for the summary table.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from corral.deploy import local, script
from corral.deploy.config import DeployTarget, Host
from corral.deploy.ssh import SSH_FAILED, Outcome, ProcessGroup, remote_bash, run_streamed, ssh_argv

MUTATING = ("setup", "update", "ref", "revert")
"""Actions that change hosts: their summary table is always printed."""


@dataclass(frozen=True, slots=True)
class Action:
    """What to do on each host: an action name and its one argument, if any."""

    name: str
    """setup, update, ref, revert, curr, prev, list or exec."""
    ref: str | None = None
    back: int = 1
    command: str = ""


@dataclass(frozen=True, slots=True)
class HostResult:
    """How one host's run ended; a row of the summary table."""

    host: str
    ok: bool
    commit: str | None
    """The commit `current` is at afterwards (or the one asked about), when known."""
    seconds: float
    error: str | None = None
    entries: tuple[str, ...] = ()
    """`list`: the commits of past deploys, newest first."""


@dataclass(frozen=True, slots=True)
class DeployReport:
    """What `corral deploy` did; the CLI prints it as a table or as JSON."""

    env: str
    action: str
    hosts: tuple[HostResult, ...] = ()
    notes: tuple[str, ...] = ()
    """Why nothing ran on any host (a dirty repository, a failing local hook)."""
    exit_code: int = 0
    """0 when every host succeeded, 1 otherwise."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LinePrinter:
    """Writes lines from many threads whole, each under its host's prefix."""

    out: IO[str]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def for_label(self, label: str) -> Callable[[str], None]:
        prefix = f"[{label}] "

        def show(line: str) -> None:
            with self.lock:
                self.out.write(prefix + line + "\n")
                self.out.flush()

        return show


def run_action(
    target: DeployTarget,
    action: Action,
    *,
    out: IO[str],
    parallel: int | None = None,
    force: bool = False,
) -> DeployReport:
    """Run ACTION on every host of TARGET (at most PARALLEL at once; None: all at once)."""
    printer = LinePrinter(out)
    group = ProcessGroup()
    folder = os.path.dirname(target.config_file)
    if action.name in ("update", "ref") and not force:
        reasons = local.unshipped_work(folder)
        if reasons:
            notes = (
                *(f"refusing to deploy: {reason}" for reason in reasons),
                "commit and push first (a deploy ships the remote repository), or use --force",
            )
            return DeployReport(target.env, action.name, notes=notes, exit_code=1)
    if action.name in ("update", "ref", "revert") and target.pre_deploy_local:
        show = printer.for_label("local")
        show("--> pre-deploy-local")
        argv = ["bash", "-c", target.pre_deploy_local]
        outcome = run_streamed(argv, show, group, cwd=folder)
        if outcome.code != 0:
            note = f"pre-deploy-local exited {outcome.code}; no host was touched"
            return DeployReport(target.env, action.name, notes=(note,), exit_code=1)
    text = build_script(target, action)
    workers = max(1, min(parallel or len(target.hosts), len(target.hosts)))

    def one(host: Host) -> HostResult:
        started = time.monotonic()
        argv = ssh_argv(target, host, remote_bash(text))
        outcome = run_streamed(argv, printer.for_label(host.label), group)
        return _result(host, outcome, time.monotonic() - started)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deploy") as pool:
        futures = [pool.submit(one, host) for host in target.hosts]
        try:
            results = tuple(f.result() for f in futures)
        except BaseException:
            group.cancel()  # Ctrl-C: end every ssh, then let the pool wind down
            raise
    failed = any(not r.ok for r in results)
    return DeployReport(target.env, action.name, hosts=results, exit_code=1 if failed else 0)


def build_script(target: DeployTarget, action: Action) -> str:
    """The remote script for ACTION (same text for every host of the env)."""
    name = action.name
    if name == "setup":
        return script.setup(target, pre_setup_command(target))
    if name in ("update", "ref"):
        return script.deploy(target, action.ref)
    if name == "revert":
        return script.deploy(target, None, back=action.back)
    if name == "curr":
        return script.current(target)
    if name == "prev":
        return script.previous(target)
    if name == "list":
        return script.history(target)
    if name == "exec":
        return script.execute(target, action.command)
    raise ValueError(f"unknown deploy action {name!r}")


def pre_setup_command(target: DeployTarget) -> str | None:
    """PM2's pre-setup may name a local script file; then its text runs on the host."""
    value = target.pre_setup
    if value is None:
        return None
    candidate = os.path.join(os.path.dirname(target.config_file), os.path.expanduser(value))
    if os.path.isfile(candidate):
        with open(candidate, encoding="utf-8") as handle:
            return handle.read()
    return value


def _result(host: Host, outcome: Outcome, seconds: float) -> HostResult:
    commit = outcome.mark("commit") or None
    entries = tuple(outcome.all("entry"))
    if outcome.code == 0:
        return HostResult(host.label, True, commit, seconds, entries=entries)
    error = outcome.mark("error")
    if error is None and not outcome.started:
        reason = outcome.last_line or f"ssh exited {outcome.code}"
        error = f"cannot reach the host: {reason}" if outcome.code == SSH_FAILED else reason
    elif error is None:
        error = f"exited {outcome.code}: {outcome.last_line}" if outcome.last_line else None
        error = error or f"exited {outcome.code}"
    return HostResult(host.label, False, commit, seconds, error=error, entries=entries)


def summary(report: DeployReport) -> str:
    """The table printed after a run: host, commit, time, result (last: it may be long)."""
    rows = [("HOST", "COMMIT", "TIME", "RESULT")]
    for r in report.hosts:
        result = "ok" if r.ok else f"FAILED: {r.error}"
        rows.append((r.host, (r.commit or "-")[:12], f"{r.seconds:.1f}s", result))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join((*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]))
        for row in rows
    ]
    return "\n".join(lines) + "\n"
