"""Shared by the attacks: a daemon in a private home (the `corral` fixture of the daemon
tests) and a reading of its resident memory."""

from __future__ import annotations

import time

from tests.integration.test_daemon import Corral, corral, wait_until

__all__ = ["Corral", "corral", "rss", "settled_rss", "wait_until"]


def rss(pid: int) -> int:
    """Resident bytes of PID (VmRSS)."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def settled_rss(pid: int, samples: int = 5) -> int:
    """The smallest of a few readings 50 ms apart: idle memory, not a passing peak."""
    readings = []
    for _ in range(samples):
        readings.append(rss(pid))
        time.sleep(0.05)  # spacing readings, not synchronising anything
    return min(readings)
