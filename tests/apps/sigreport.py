"""Prints 'ready', then waits; on SIGINT or SIGTERM prints which one came and exits 0."""

import signal
import sys
import time


def report(number: int, _frame: object) -> None:
    print(f"got {signal.Signals(number).name}", flush=True)
    sys.exit(0)


signal.signal(signal.SIGINT, report)
signal.signal(signal.SIGTERM, report)
print("ready", flush=True)
while True:
    time.sleep(3600)
