"""Provides `render`: the collected figures as RESULTS.md.

The table has one row per metric, `scenario | corral | pm2 | supervisord | corral
advantage (x) | bare respawn loop` (supervisord only when it was among the tools). The
advantage is against the better of the peers on that row, so a win means beating the
best alternative, not the weakest. Rows where corral loses stay in, marked in bold.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field

from benchmarks.scenarios import Metric, Scenario
from benchmarks.stats import Summary, advantage, best, summarize

BASELINE = "bare"
"""Column key of a scenario's bare baseline."""
PEERS = ("pm2", "supervisord")
"""The tools corral is compared with, in column order."""
BRIEF = 40
"""A skip reason longer than this is cut to its head in the cell (the notes have it all)."""


@dataclass
class ScenarioRun:
    """Everything one scenario produced in one run of the benchmark."""

    scenario: Scenario
    values: dict[str, dict[str, list[float | str]]] = field(default_factory=dict)
    """column -> metric key -> one value per round."""
    errors: dict[str, list[str]] = field(default_factory=dict)
    """column -> messages of the rounds that failed."""
    skipped: dict[str, str] = field(default_factory=dict)
    """column -> why the column was not measured at all."""
    cleanup: dict[str, list[str]] = field(default_factory=dict)
    """column -> notes on processes the runner had to kill after the tool's own `kill`."""
    rounds: int = 0
    """Rounds this scenario ran (slow ones run fewer than the header says)."""

    def summary(self, column: str, metric: Metric) -> Summary:
        return summarize(self.values.get(column, {}).get(metric.key, []))


@dataclass
class Header:
    """What the report says about where and how the figures were taken."""

    date: str
    mode: str
    machine: dict[str, str]
    versions: dict[str, str]
    load_before: str
    load_after: str
    command: str
    duration_s: float
    notes: list[str] = field(default_factory=list)


def _advantage_cell(value: float | None) -> str:
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    text = f"{value:.2f}"
    return f"**{text} — corral loses**" if value < 0.995 else text


def brief(why: str) -> str:
    """WHY short enough for a table cell: whole, else the part before ": " or " (", else
    a pointer to the notes, which always carry the whole reason."""
    if len(why) <= BRIEF:
        return why
    head = re.split(r": | \(", why, maxsplit=1)[0]
    return head if len(head) <= BRIEF else "see the notes"


def _cell(run: ScenarioRun, column: str, metric: Metric) -> str:
    if column in run.skipped:
        return f"n/a ({brief(run.skipped[column])})"
    cell = run.summary(column, metric).cell(metric.digits, metric.unit)
    failed = len(run.errors.get(column, []))
    return f"{cell} [{failed} failed]" if failed else cell


def _excess(run: ScenarioRun, column: str, metric: Metric) -> float | None:
    """Median over rounds of (column - baseline), paired round by round."""
    mine = run.values.get(column, {}).get(metric.key, [])
    base = run.values.get(BASELINE, {}).get(metric.key, [])
    diffs = [
        a - b
        for a, b in zip(mine, base, strict=False)
        if isinstance(a, float | int) and isinstance(b, float | int)
    ]
    return statistics.median(diffs) if diffs else None


def _median(run: ScenarioRun, column: str, metric: Metric) -> float | None:
    """COLUMN's median for METRIC, None when the column was skipped or has no number."""
    return None if column in run.skipped else run.summary(column, metric).median


def _excess_row(run: ScenarioRun, metric: Metric, tools: list[str]) -> str:
    cells = []
    excess = {t: _excess(run, t, metric) for t in tools}
    for tool in tools:
        value = excess[tool]
        cells.append("—" if value is None else f"{value:+.{metric.digits}f} {metric.unit}")
    corral = excess.get("corral")
    peer = best((excess.get(t) for t in PEERS if t not in run.skipped), "lower")
    adv = advantage(corral, peer, "lower") if corral and peer and corral > 0 and peer > 0 else None
    target = "—"
    if corral is not None:
        verdict = "met" if corral <= 5 else "**missed**"
        target = f"target for corral ≤ +5 {metric.unit}: {verdict}"
    label = f"{metric.label}, minus the bare loop (paired by round)"
    return f"| {label} | {' | '.join(cells)} | {_advantage_cell(adv)} | {target} |"


def advantage_title(tools: list[str]) -> str:
    """The advantage column's title: it says "the better peer" once there are two."""
    if sum(t in PEERS for t in tools) > 1:
        return "corral advantage (x, vs the better peer)"
    return "corral advantage (x)"


def table(runs: list[ScenarioRun], tools: list[str]) -> list[str]:
    """The results table as Markdown lines."""
    head = ["scenario", *tools, advantage_title(tools), "bare respawn loop"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        for metric in run.scenario.metrics:
            cells = [_cell(run, t, metric) for t in tools]
            corral = _median(run, "corral", metric)
            other = best((_median(run, t, metric) for t in PEERS if t in tools), metric.better)
            adv = advantage(corral, other, metric.better, metric.floor)
            adv_cell = _advantage_cell(adv)
            noise = metric.floor > 0 and corral is not None and other is not None
            if noise and max(corral or 0.0, other or 0.0) <= metric.floor:
                adv_cell += f" (both ≤ {metric.floor:g} {metric.unit}: noise)"
            base = (
                _cell(run, BASELINE, metric)
                if run.scenario.baseline_name and BASELINE in run.values
                else ""
            )
            lines.append(f"| {metric.label} | {' | '.join(cells)} | {adv_cell} | {base} |")
            if metric.vs_baseline and BASELINE in run.values:
                lines.append(_excess_row(run, metric, tools))
    return lines


def _scenario_notes(run: ScenarioRun) -> list[str]:
    lines = [f"### {run.scenario.title}", "", run.scenario.notes, ""]
    if run.rounds:
        lines[-2] += f" (Rounds in this run: {run.rounds}.)"
    for column, why in run.skipped.items():
        lines.append(f"- {column}: not measured: {why}")
    for column, messages in run.errors.items():
        for message in messages:
            lines.append(f"- {column}: a round failed: `{message}`")
    for column, notes in run.cleanup.items():
        for note in notes:
            lines.append(f"- {column}: {note}")
    if lines[-1] != "":
        lines.append("")
    return lines


def _raw(runs: list[ScenarioRun]) -> list[str]:
    lines = ["## Raw values (one per round, in run order)", ""]
    for run in runs:
        for column, metrics in run.values.items():
            for key, values in metrics.items():
                shown = ", ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in values)
                lines.append(f"- {run.scenario.key} / {column} / {key}: {shown}")
    return [*lines, ""]


def render(header: Header, runs: list[ScenarioRun], tools: list[str]) -> str:
    """RESULTS.md as one string."""
    peers = " and ".join(t for t in PEERS if t in tools) or "pm2"
    against = f" It is taken against the better of {peers} on each row." if " and " in peers else ""
    lines = [
        f"# corral vs {peers}: benchmark results",
        "",
        f"Generated by `{header.command}` on {header.date} ({header.mode}; "
        f"took {header.duration_s / 60:.1f} min). Figures are medians over rounds with the "
        "min–max in parentheses; the tools ran alternately (A B A B …), each round in its "
        "own fresh home. Advantage > 1 means corral is better, whatever the unit."
        f"{against} The figures compare only within this run, on this machine, under this "
        "load. "
        "Rerun with `python -m benchmarks` from the repository root (`--help` for options; "
        "`--quick` for a smoke run).",
        "",
        "## Machine",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in header.machine.items()]
    lines += [f"- {k}: {v}" for k, v in header.versions.items()]
    lines += [
        f"- Load average (1/5/15 min) before: {header.load_before}; after: {header.load_after}",
        "",
    ]
    for note in header.notes:
        lines += [f"> {note}", ""]  # a blank line each, or Markdown merges them
    lines += ["## Results", "", *table(runs, tools), "", "## Notes per scenario", ""]
    for run in runs:
        lines += _scenario_notes(run)
    lines += _raw(runs)
    return "\n".join(lines)
