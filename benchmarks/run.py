"""Provides `main`, the benchmark runner: every scenario, every tool, alternately.

    python -m benchmarks                 # full run, writes benchmarks/RESULTS.md
    python -m benchmarks --quick --tools corral,bare --output /tmp/R.md

Each measurement gets a fresh temporary home (CORRAL_HOME / PM2_HOME / supervisord's
config folder) and work folder; whatever happens, the tool's own `kill` runs, then every
pid the runner saw is killed. Rounds alternate the tools (corral, pm2, supervisord, bare
loop, corral, …) so a slow patch of a shared machine hurts every column alike.
supervisord is measured only in the scenarios that list it among their `peers`.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from benchmarks import machine, source
from benchmarks.adapters import Corral, Pm2, Supervisord, Tool, ToolUnavailable
from benchmarks.procs import Tracker
from benchmarks.report import BASELINE, PEERS, Header, ScenarioRun, render
from benchmarks.scenarios import ORDER, Context, Result, Scenario, load
from benchmarks.scenarios.base import Value

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
TOOL_NAMES = ("corral", *PEERS, BASELINE)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark corral against pm2 and supervisord, side by side.",
    )
    parser.add_argument("--quick", action="store_true", help="one round, small sizes")
    parser.add_argument("--rounds", type=int, help="rounds per scenario (default 5, quick 1)")
    parser.add_argument(
        "--tools",
        default=",".join(TOOL_NAMES),
        help=f"comma-separated columns to measure, of {', '.join(TOOL_NAMES)} (default: all)",
    )
    parser.add_argument(
        "--scenarios", default=",".join(ORDER), help=f"comma-separated, of {', '.join(ORDER)}"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="RESULTS.md path")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter for the child apps: a plain venv's, which starts fast (default: this)",
    )
    parser.add_argument(
        "--footprint-window", type=float, help="seconds per footprint window (30, quick 3)"
    )
    parser.add_argument(
        "--no-install", action="store_true", help="never install pm2 (npm) or supervisord (pip)"
    )
    parser.add_argument(
        "--corral-cmd",
        help="command that runs corral (default: the `corral` script beside this Python)",
    )
    args = parser.parse_args(argv)
    args.tools = [t for t in args.tools.split(",") if t]
    args.scenarios = tuple(s for s in args.scenarios.split(",") if s)
    for tool in args.tools:
        if tool not in TOOL_NAMES:
            parser.error(f"unknown tool {tool!r}")
    for name in args.scenarios:
        if name not in ORDER:
            parser.error(f"unknown scenario {name!r}")
    args.rounds = args.rounds or (1 if args.quick else 5)
    args.footprint_window = args.footprint_window or (3.0 if args.quick else 30.0)
    return args


def log(message: str) -> None:
    """Progress on stderr, so a long run shows it is alive."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure_once(
    scenario: Scenario, tool: Tool | None, args: argparse.Namespace
) -> tuple[Result, list[int]]:
    """One measurement in fresh folders; returns the figures and pids cleanup had to kill.

    TOOL None runs the scenario's bare baseline instead of a process manager.
    """
    with tempfile.TemporaryDirectory(prefix="corral-bench-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        ctx = Context(work, args.python, args.quick, args.footprint_window)
        if tool is None:
            return scenario.baseline(ctx), []
        tracker = Tracker()
        session = tool.open(Path(tmp) / "home", tracker)
        killed: list[int] = []
        try:
            result = scenario.measure(session, ctx)
        finally:
            killed = session.close()
        return result, killed


def run_scenario(
    scenario: Scenario, tools: dict[str, Tool], args: argparse.Namespace
) -> ScenarioRun:
    """Every round of SCENARIO, columns alternating within each round."""
    run = ScenarioRun(scenario)
    columns: list[str] = []
    for name, tool in tools.items():
        why = tool.daemon_missing() if scenario.needs_daemon else None
        if name in PEERS and name not in scenario.peers:
            why = tool.out_of_scope
        if why:
            run.skipped[name] = why
        else:
            columns.append(name)
    if scenario.baseline_name and BASELINE in args.tools:
        columns.append(BASELINE)
    rounds = args.rounds
    if scenario.full_rounds and not args.quick:
        rounds = min(rounds, scenario.full_rounds)
    if scenario.min_rounds and not args.quick:
        rounds = max(rounds, scenario.min_rounds)
    run.rounds = rounds
    for round_no in range(1, rounds + 1):
        for column in columns:
            if column in run.skipped:
                continue  # refused in an earlier round (ToolUnavailable): it will be again
            log(f"{scenario.key}: round {round_no}/{rounds}: {column}")
            try:
                result, killed = measure_once(scenario, tools.get(column), args)
            except ToolUnavailable as exc:
                run.skipped[column] = str(exc)
                continue
            except Exception as exc:
                log(f"{scenario.key}/{column} failed: {exc}")
                traceback.print_exc(file=sys.stderr)
                run.errors.setdefault(column, []).append(f"{type(exc).__name__}: {exc}")
                continue
            record(run, column, result)
            if killed:
                run.cleanup.setdefault(column, []).append(
                    f"round {round_no}: after the tool's `kill`, the runner had to SIGKILL "
                    f"{len(killed)} leftover process(es) (pids {killed})"
                )
    return run


def record(run: ScenarioRun, column: str, result: dict[str, Value]) -> None:
    """Append one round's figures to RUN."""
    per_metric = run.values.setdefault(column, {})
    for metric in run.scenario.metrics:
        if metric.key in result:
            per_metric.setdefault(metric.key, []).append(result[metric.key])


def build_tools(args: argparse.Namespace, notes: list[str]) -> dict[str, Tool]:
    """The process managers to measure, minus those that cannot run here (noted)."""
    candidates: list[Tool] = []
    if "corral" in args.tools:
        candidates.append(Corral(shlex.split(args.corral_cmd) if args.corral_cmd else None))
    if "pm2" in args.tools:
        candidates.append(Pm2(install=not args.no_install))
    if "supervisord" in args.tools:
        candidates.append(Supervisord(install=not args.no_install))
    tools: dict[str, Tool] = {}
    for tool in candidates:
        why = tool.unavailable()
        if why:
            notes.append(f"{tool.name} columns skipped: {why}")
        else:
            tools[tool.name] = tool
    return tools


def _interrupt(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every session's cleanup still runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the report; 0 when every measurement succeeded."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    began = time.monotonic()
    notes: list[str] = []
    tools = build_tools(args, notes)
    corral = tools.get("corral")
    if isinstance(corral, Corral):
        notes.append(corral.warm_bytecode())
    if isinstance(corral, Corral) and not corral.has_daemon():
        notes.append(
            "corral's daemon CLI is not available in this build: crash, stop and start "
            "use the foreground engine (`corral up FILE --no-ui`, the same engine) instead: "
            "its start clock includes the engine's boot, its stop is SIGTERM to `up` "
            "until it exits; CLI and footprint are n/a."
        )
    if "supervisord" in tools:
        notes.append(
            "supervisord is compared only where the issue asks (CLI status, footprint, "
            "log throughput, stop); each app becomes a `[program:NAME]` with "
            "`stopsignal=INT`, `stopasgroup`/`killasgroup=true`, `startsecs` from "
            "`min_uptime` and `stopwaitsecs` from `kill_timeout` rounded up to whole "
            "seconds (benchmarks/adapters/supervisord.py has the whole mapping)."
        )
    versions = {f"{name} version": tool.version() for name, tool in tools.items()}
    if "corral" in tools:
        versions["corral source"] = source.describe()
    before = source.fingerprint()
    load_before = machine.load()
    date = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    runs = [run_scenario(s, tools, args) for s in load(args.scenarios)]
    if "corral" in tools and source.fingerprint() != before:
        notes.append(
            "corral's source changed while this run was going on (someone edited the "
            "checkout): rounds may have measured different code; rerun on a quiet tree."
        )
    given = sys.argv[1:] if argv is None else list(argv)
    header = Header(
        date=date,
        mode=f"{'quick' if args.quick else 'full'} mode, {args.rounds} round(s)",
        machine=machine.describe(args.python),
        versions=versions,
        load_before=load_before,
        load_after=machine.load(),
        command=f"python -m benchmarks {shlex.join(given)}".strip(),
        duration_s=time.monotonic() - began,
        notes=notes,
    )
    columns = [t for t in ("corral", *PEERS) if t in args.tools]
    args.output.write_text(render(header, runs, columns) + "\n" + kept_notes(args.output))
    log(f"wrote {args.output}")
    return 1 if any(run.errors for run in runs) else 0


KEPT = "<!-- kept across runs: everything below this line is carried into the next run -->"


def kept_notes(path: Path) -> str:
    """What follows the KEPT marker in the results file being replaced (measurements
    written by hand, such as where the daemon's bytes go), so a rerun does not lose it."""
    try:
        text = path.read_text()
    except OSError:
        return ""
    at = text.find(KEPT)
    return "\n" + text[at:] if at >= 0 else ""


if __name__ == "__main__":
    sys.exit(main())
