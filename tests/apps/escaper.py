"""Double-forks a grandchild that calls setsid and ignores signals, then keeps running.

The grandchild's pid goes to $PIDFILE. With --orphan the middle process exits, so the
grandchild is re-parented (to the engine, a subreaper) and must still die on stop.
"""

import os
import signal
import sys
import time

orphan = "--orphan" in sys.argv
middle = os.fork()
if middle == 0:
    grandchild = os.fork()
    if grandchild == 0:
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        path = os.environ.get("PIDFILE")
        if path:
            with open(path + ".tmp", "w") as handle:
                handle.write(f"{os.getpid()}\n")
            os.rename(path + ".tmp", path)
        while True:
            time.sleep(3600)
    if orphan:
        os._exit(0)
    while True:
        time.sleep(3600)
print(f"escaper {os.getpid()}", flush=True)
while True:
    time.sleep(3600)
