"""Starts a child that holds the memory while this main process stays small.

Usage: holder.py MB [STEP_S]
The child allocates MB megabytes at once (STEP_S = 0) or 10 MB every STEP_S seconds
without end; either way it prints "holding N MB" after each step and then sleeps.
"""

import signal
import subprocess
import sys
import time

CHILD = """
import sys, time
total, step = int(sys.argv[1]), float(sys.argv[2])
hoard = []
while True:
    size = total if not step else 10
    if not step and hoard:
        time.sleep(3600)
        continue
    hoard.append(bytearray(size * 1024 * 1024))
    print(f"holding {sum(map(len, hoard)) >> 20} MB", flush=True)
    time.sleep(step or 0)
"""

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
mb = sys.argv[1] if len(sys.argv) > 1 else "100"
step = sys.argv[2] if len(sys.argv) > 2 else "0"
child = subprocess.Popen([sys.executable, "-c", CHILD, mb, step])
print(f"child {child.pid}", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    sys.exit(0)
