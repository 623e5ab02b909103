"""corral and supervisord side by side: 1,000,000 lines to stdout, no timestamps.

The log-throughput target of issue 4 is "at least as fast as supervisord". supervisord
(pip's `supervisor`) has no pm2-style CLI for the harness's adapters, so this script
drives both directly, alternating rounds in one run: each tool starts one program that
`cat`s a prepared 56 MB file of numbered 56-byte lines, and we time from the start
command until the log file holds every line (and check none is missing or broken).

Usage: python -m benchmarks.extra.supervisord_logs --supervisord PATH [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LINES = 1_000_000
WIDTH = 56


def make_input(path: Path) -> None:
    """The numbered lines, written once."""
    with path.open("wb") as out:
        for start in range(0, LINES, 10_000):
            out.write(
                b"".join(
                    b"%d %s\n" % (i, b"x" * (WIDTH - 2 - len(str(i))))
                    for i in range(start, min(LINES, start + 10_000))
                )
            )


def wait_lines(log: Path, deadline: float) -> float:
    """Seconds until LOG ends with the last line (polled with a deadline)."""
    last = f"{LINES - 1} ".encode()
    while time.monotonic() < deadline:
        try:
            with log.open("rb") as handle:
                handle.seek(max(0, log.stat().st_size - WIDTH))
                if handle.read().startswith(last):
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.002)
    raise TimeoutError(f"{log} never got line {LINES - 1}")


def check(log: Path) -> int:
    """Lines missing or broken."""
    bad, expected = 0, 0
    with log.open("rb") as handle:
        for line in handle:
            head = line.split(b" ", 1)[0]
            if not head.isdigit() or int(head) != expected or len(line) != WIDTH:
                bad += 1
            expected = int(head) + 1 if head.isdigit() else expected + 1
    return bad + max(0, LINES - expected)


def corral_round(work: Path, data: Path, corral: str) -> tuple[float, int]:
    home = work / "corral-home"
    env = dict(os.environ, CORRAL_HOME=str(home))
    subprocess.run([corral, "ping"], env=env, check=True, capture_output=True)
    eco = work / "corral.toml"
    eco.write_text(
        f'[[apps]]\nname = "cat"\nscript = "/bin/cat"\nargs = ["{data}"]\n'
        'autorestart = false\nlog_max_size = "10G"\n'
    )
    t0 = time.monotonic()
    subprocess.run([corral, "start", str(eco)], env=env, check=True, capture_output=True)
    log = home / "logs" / "cat-out.log"
    took = wait_lines(log, t0 + 60) - t0
    bad = check(log)
    subprocess.run([corral, "kill"], env=env, capture_output=True)
    return took, bad


def supervisord_round(work: Path, data: Path, supervisord: str) -> tuple[float, int]:
    log = work / "cat-out.log"
    conf = work / "supervisord.conf"
    conf.write_text(
        f"[supervisord]\nnodaemon=true\nlogfile={work / 'sd.log'}\npidfile={work / 'sd.pid'}\n"
        f"[program:cat]\ncommand=/bin/cat {data}\nautostart=true\nautorestart=false\n"
        f"startsecs=0\nstdout_logfile={log}\nstdout_logfile_maxbytes=0\n"
    )
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [supervisord, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        took = wait_lines(log, t0 + 60) - t0
        bad = check(log)
    finally:
        proc.terminate()
        proc.wait(10)
    return took, bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--supervisord", required=True)
    parser.add_argument("--corral", default=str(Path(sys.executable).with_name("corral")))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="corral-sd-"))
    data = base / "lines.txt"
    make_input(data)
    results: dict[str, list[tuple[float, int]]] = {"corral": [], "supervisord": []}
    try:
        for n in range(args.rounds):
            for tool in ("corral", "supervisord") if n % 2 == 0 else ("supervisord", "corral"):
                work = base / f"{tool}-{n}"
                work.mkdir()
                if tool == "corral":
                    results[tool].append(corral_round(work, data, args.corral))
                else:
                    results[tool].append(supervisord_round(work, data, args.supervisord))
                shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for tool, runs in results.items():
        rates = [LINES / took for took, _ in runs]
        print(
            f"{tool}: median {statistics.median(rates):,.0f} lines/s "
            f"(min {min(rates):,.0f}, max {max(rates):,.0f}); missing or broken: "
            f"{[bad for _, bad in runs]}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
