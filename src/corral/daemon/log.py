"""Provides `log`: one timestamped line on the daemon's stderr (which is daemon.log).

Not the `logging` module: the daemon writes a handful of lines and keeps its imports lean.
"""

from __future__ import annotations

import sys
import time


def log(message: str) -> None:
    """Write MESSAGE to daemon.log, stamped with local time and milliseconds."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
    try:
        sys.stderr.write(f"{stamp} {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # a full disk or a closed log must not take the daemon down
