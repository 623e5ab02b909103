"""Prints one short line RATE times a second (argv[1]), one write per line, forever.

The schedule is absolute (tick k at start + k/RATE), so a slow write never lowers the
rate: this is the steady chatter of a normal service, not a burst.
"""

import os
import sys
import time

rate = float(sys.argv[1])
start = time.monotonic()
tick = 0
while True:
    os.write(1, f"tick {tick} pid {os.getpid()} all is well\n".encode())
    tick += 1
    delay = start + tick / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
