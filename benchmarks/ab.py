"""Two corral builds, one scenario, rounds alternating: A, B, A, B, …

    python -m benchmarks.ab --scenario monitor --rounds 6 \\
        --a "env PYTHONPATH=/tmp/old/src python -m corral" --b "python -m corral"

On a shared, loaded machine two runs made minutes apart compare the load, not the code;
alternating single rounds gives both builds the same load, on average. Each round is a
full `python -m benchmarks --rounds 1` run (its own daemon, apps and monitor); the raw
values of every round and the median of each build are printed, for RESULTS.md.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RAW = re.compile(r"^- (?P<scenario>\S+) / corral / (?P<metric>\S+): (?P<value>[-\d.]+)$")


def one_round(scenario: str, command: str, output: Path) -> dict[str, float]:
    """The corral values of one round of SCENARIO run by COMMAND."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--tools",
            "corral",
            "--scenarios",
            scenario,
            "--rounds",
            "1",
            "--no-install",
            "--corral-cmd",
            command,
            "--output",
            str(output),
        ],
        check=True,
    )
    values = {}
    for line in output.read_text().splitlines():
        match = RAW.match(line)
        if match and match["scenario"] == scenario:
            values[match["metric"]] = float(match["value"])
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="monitor")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per build")
    parser.add_argument("--a", required=True, help="command that runs build A")
    parser.add_argument("--b", required=True, help="command that runs build B")
    args = parser.parse_args()
    builds = {"A": args.a, "B": args.b}
    seen: dict[str, dict[str, list[float]]] = {name: {} for name in builds}
    with tempfile.TemporaryDirectory(prefix="corral-ab-") as folder:
        for n in range(args.rounds):
            for name, command in builds.items():
                values = one_round(args.scenario, command, Path(folder) / f"{name}{n}.md")
                print(f"round {n + 1} {name}: {values}", flush=True)
                for metric, value in values.items():
                    seen[name].setdefault(metric, []).append(value)
    for name, metrics in seen.items():
        for metric, measured in metrics.items():
            shown = ", ".join(f"{v:g}" for v in measured)
            print(f"{name} {metric}: median {statistics.median(measured):g} ({shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
