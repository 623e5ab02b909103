"""Prints 'ready' then sleeps until signalled; exits 0 on SIGINT/SIGTERM."""

import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    sys.exit(0)
