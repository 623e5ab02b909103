"""Provides the machine description for the report header.

Figures from different machines (or different loads) do not compare, so the report
says exactly where and under what load they were taken.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

import psutil


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform's guess elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def node_version() -> str:
    """`node --version`, or why there is none."""
    node = shutil.which("node")
    if node is None:
        return "not installed"
    proc = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or "unknown"


def python_version(python: str) -> str:
    """The version of the interpreter at PYTHON (the one the child apps run under)."""
    proc = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or "unknown"


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def describe(python: str) -> dict[str, str]:
    """Machine facts for the header, in display order."""
    return {
        "CPU": cpu_model(),
        "Cores": f"{psutil.cpu_count()} logical ({psutil.cpu_count(logical=False)} physical)",
        "Memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python (children)": f"{python_version(python)} at `{python}`",
        "Node": node_version(),
    }
