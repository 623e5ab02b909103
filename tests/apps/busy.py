"""Spins one core at 100% until signalled; prints 'ready' first."""

import signal
import sys

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("ready", flush=True)
n = 0
try:
    while True:
        n += 1
except KeyboardInterrupt:
    sys.exit(0)
