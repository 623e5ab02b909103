"""Provides `corral metrics`: the daemon's processes in Prometheus's text format.

The exporter is a client of the daemon, not part of it, so the daemon stays small and
nothing listens on the network unless asked: `corral metrics` prints once (for
node_exporter's textfile collector or a cron job), `corral metrics --listen ADDR` serves
`/metrics` over HTTP, asking the daemon afresh at each scrape. prometheus-client writes
the format, so names, escaping and types are what Prometheus's own parser expects.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from corral.cli import session
from corral.cli.main import Failure, UsageError

DEFAULT_LISTEN = "127.0.0.1:9615"
LABELS = ("app", "id", "namespace", "instance", "exec_mode")
STATES = (
    "launching",
    "online",
    "stopping",
    "stopped",
    "waiting restart",
    "errored",
    "waiting",
    "completed",
)
"""PM2's states, always all listed in the state set (plus any newer one a daemon reports)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "metrics",
        help="print the processes' metrics for Prometheus, or serve them over HTTP",
        description="Print every process's metrics once in Prometheus's text format, or "
        "with --listen serve them at /metrics (loopback unless another address is given).",
    )
    parser.add_argument(
        "--listen",
        nargs="?",
        const=DEFAULT_LISTEN,
        metavar="[HOST]:PORT",
        help=f"serve /metrics over HTTP (default address {DEFAULT_LISTEN})",
    )
    parser.set_defaults(module=__name__)


@session.guarded
def run(args: argparse.Namespace) -> int:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    collector = DaemonCollector()
    registry.register(collector)
    if args.listen is None:
        collector.rows()  # fail with the CLI's exit code when no daemon answers
        sys.stdout.write(generate_latest(registry).decode())
        return 0
    return _serve(registry, args.listen)


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT` or `:PORT` (loopback) as (host, port); exit 2 otherwise."""
    from corral.config.listen import parse_local_server

    try:
        return parse_local_server(text)
    except ValueError as exc:
        raise UsageError(f"--listen {exc}") from None


def _serve(registry: Any, listen: str) -> int:
    from prometheus_client import start_http_server

    host, port = parse_listen(listen)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise Failure(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    shown = f"[{host}]" if ":" in host else host
    print(f"[corral] serving metrics at http://{shown}:{server.server_port}/metrics", flush=True)
    try:
        while True:
            time.sleep(3600)  # the server thread does the work; we wait for Ctrl-C
    except KeyboardInterrupt:
        server.shutdown()
    return 0


class DaemonCollector:
    """Asks the daemon at each collection; a daemon that is down gives `corral_up 0`."""

    def rows(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The daemon's table and its ping (pid, version); raises when none answers."""
        with session.connect(start=False) as client:
            return client.call("list", scrape=True), client.call("ping")

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("corral_up", "1 when the corral daemon answered this scrape")
        try:
            rows, ping = self.rows()
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from process_metrics(rows)
        yield from daemon_metrics(rows, ping)


def process_metrics(rows: list[dict[str, Any]]) -> Iterator[Any]:
    """One family per figure, one sample per process, labelled as LABELS."""
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        InfoMetricFamily,
        StateSetMetricFamily,
    )

    def gauge(name: str, text: str) -> Any:
        return GaugeMetricFamily(name, text, labels=LABELS)

    up = gauge("corral_process_up", "1 while the process is online, 0 otherwise")
    status = StateSetMetricFamily("corral_process_status", "The process's state", labels=LABELS)
    cpu_total = CounterMetricFamily(
        "corral_process_cpu_seconds", "CPU time of the process tree, every run", labels=LABELS
    )
    cpu = gauge("corral_process_cpu_percent", "CPU % of the process tree (100 = one core)")
    memory = gauge("corral_process_memory_bytes", "Resident memory of the whole process tree")
    restarts = CounterMetricFamily(
        "corral_process_restarts", "Restarts since creation or the last reset", labels=LABELS
    )
    unstable = gauge("corral_process_unstable_restarts", "Unstable restarts in a row")
    uptime = gauge("corral_process_uptime_seconds", "Time since the current run started")
    limit = gauge("corral_process_memory_limit_bytes", "max_memory_restart, when set")
    reason = InfoMetricFamily(
        "corral_process_last_restart", "Why the process last restarted", labels=LABELS
    )
    states = list(STATES) + sorted({r["status"] for r in rows} - set(STATES))
    for row in rows:
        spec = row.get("spec") or {}
        labels = [
            str(row["name"]),
            str(row["id"]),
            str(row.get("namespace") or "default"),
            str(row.get("instance", 0)),
            str(row.get("exec_mode") or "fork"),
        ]
        up.add_metric(labels, 1 if row["status"] == "online" else 0)
        status.add_metric(labels, {state: row["status"] == state for state in states})
        cpu_total.add_metric(labels, float(row.get("cpu_seconds") or 0.0))
        cpu.add_metric(labels, float(row.get("cpu") or 0.0))
        memory.add_metric(labels, float(row.get("memory") or 0))
        restarts.add_metric(labels, float(row.get("restarts") or 0))
        unstable.add_metric(labels, float(row.get("unstable_restarts") or 0))
        uptime.add_metric(labels, (row.get("uptime_ms") or 0) / 1000)
        if spec.get("max_memory_restart"):
            limit.add_metric(labels, float(spec["max_memory_restart"]))
        if row.get("reasons"):
            last = row["reasons"][-1]
            reason.add_metric(
                labels,
                {"reason": str(last.get("reason", "")), "detail": str(last.get("detail", ""))},
            )
    yield from (up, status, cpu_total, cpu, memory, restarts, unstable, uptime, limit, reason)


def daemon_metrics(rows: list[dict[str, Any]], ping: dict[str, Any]) -> Iterator[Any]:
    """The daemon's own footprint (read from /proc: it runs on this machine) and counters."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    apps = GaugeMetricFamily("corral_daemon_processes", "Processes in the daemon's table")
    apps.add_metric([], len(rows))
    yield apps
    stat = _proc_stat(int(ping.get("pid") or 0))
    if stat is not None:
        rss, cpu_seconds = stat
        memory = GaugeMetricFamily("corral_daemon_memory_bytes", "The daemon's resident memory")
        memory.add_metric([], rss)
        yield memory
        cpu = CounterMetricFamily("corral_daemon_cpu_seconds", "CPU time the daemon used")
        cpu.add_metric([], cpu_seconds)
        yield cpu
    stats = ping.get("stats") or {}
    for key, text in (
        ("subscribers", "Clients subscribed to the event stream (monitors, logs -f)"),
    ):
        if key in stats:
            family = GaugeMetricFamily(f"corral_daemon_{key}", text)
            family.add_metric([], float(stats[key]))
            yield family
    for key, text in (
        ("log_bytes_written", "Bytes appended to log files"),
        ("log_lines_written", "Log lines written to files, counted from the first scrape on"),
        ("log_lines_dropped", "Log lines subscribers missed because they fell behind"),
        ("persistence_failures", "Failed writes of state.json or dump.json"),
    ):
        if key in stats:
            counter = CounterMetricFamily(f"corral_daemon_{key}", text)
            counter.add_metric([], float(stats[key]))
            yield counter


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(RSS bytes, CPU seconds) of PID from /proc, None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[21]) * os.sysconf("SC_PAGE_SIZE"), (int(fields[11]) + int(fields[12])) / ticks
