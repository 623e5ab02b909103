"""Ignores SIGINT and SIGTERM and forks a grandchild that ignores them too.

Writes "<own pid> <grandchild pid>" to the file argv[1] once both exist, so the
benchmark can check afterwards whether a stop left anything alive.
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
path = sys.argv[1]
with open(path + ".tmp", "w") as handle:
    handle.write(f"{os.getpid()} {child}\n")
os.replace(path + ".tmp", path)
while True:
    time.sleep(3600)
