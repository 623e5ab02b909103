"""Writes its start time to a file of its own in the folder argv[1], then sleeps.

One file per process (named by pid) so concurrent instances never share a write.
"""

import os
import sys
import time

started = time.time()
path = os.path.join(sys.argv[1], f"{os.getpid()}.start")
with open(path + ".tmp", "w") as handle:
    handle.write(f"{started:.6f}\n")
os.replace(path + ".tmp", path)
while True:
    time.sleep(3600)
