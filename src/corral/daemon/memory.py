"""Provides `give_back_soon`: return the heap's free memory to the system after a flood.

glibc's malloc keeps freed memory for reuse, and after a burst of big buffers (250
clients each sending a megabyte that is then dropped) it raises its mmap threshold, so
the next bursts land on the heap and the daemon's RSS stays hundreds of megabytes above
idle long after the clients left. `malloc_trim(0)` hands the free pages back; it runs a
second after a client leaves, at most once per TRIM_INTERVAL_S, off every hot path.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import time
from collections.abc import Callable

TRIM_DELAY_S = 1.0
TRIM_INTERVAL_S = 5.0

_pending = False
_full = False
_last = 0.0


def _load_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None elsewhere (musl, macOS: nothing to do)."""
    try:
        # The running program's own symbols (libc's among them), without
        # `ctypes.util.find_library`, which runs `ldconfig -p` and costs imports.
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_trim = _load_trim()


def trim_now(full: bool = True) -> None:
    """Collect cycles, then give free heap memory back to the system (glibc only).

    The collection matters: a closed connection's frames can sit in a reference cycle
    (an exception's traceback) that an idle daemon, allocating little, would not collect
    for hours. FULL collects every generation; otherwise only the two young ones, which
    hold what a short request made (with 200 apps a full collection cost about 15 ms of
    CPU after every `corral list`, as much as a whole sampling pass).
    """
    global _last
    _last = time.monotonic()
    gc.collect(2 if full else 1)
    if _trim is not None:
        _trim(0)


def give_back_soon(full: bool = True) -> None:
    """Schedule one `trim_now` shortly, unless one is pending or ran a moment ago.

    FULL after a flood or a long-lived subscriber, whose objects may have grown old;
    a pending trim that was not full becomes full when one asks."""
    global _pending, _full
    _full = _full or full
    if _pending:
        return
    loop = asyncio.get_running_loop()
    _pending = True
    delay = max(TRIM_DELAY_S, _last + TRIM_INTERVAL_S - time.monotonic())

    def run() -> None:
        global _pending, _full
        thorough, _pending, _full = _full, False, False
        trim_now(thorough)

    loop.call_later(delay, run)
