"""Ignores SIGINT and SIGTERM and leaves a grandchild that ignores them too.

Writes the grandchild's pid to the file named by $PIDFILE (if set) and prints it.
"""

import os
import signal
import sys
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = os.fork()
if child == 0:
    while True:
        time.sleep(3600)
path = os.environ.get("PIDFILE")
if path:
    with open(path, "w") as handle:
        handle.write(f"{os.getpid()} {child}\n")
print(f"stubborn {os.getpid()} grandchild {child}", flush=True)
while True:
    time.sleep(3600)
sys.exit(0)
