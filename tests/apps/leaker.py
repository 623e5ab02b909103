"""Grows its memory by STEP_MB every INTERVAL seconds, printing its size.

Usage: leaker.py [STEP_MB] [INTERVAL]
"""

import sys
import time

step = int(sys.argv[1]) if len(sys.argv) > 1 else 5
interval = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
hoard = []
while True:
    hoard.append(bytearray(step * 1024 * 1024))
    print(f"holding {len(hoard) * step} MB", flush=True)
    time.sleep(interval)
