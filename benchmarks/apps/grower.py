"""Grows its memory by STEP_MB every 0.1 s (argv[3], default 5: 50 MB/s) up to a cap.

Appends its start time to the file argv[1] on every start; the first time its own RSS
(from /proc/self/statm) exceeds LIMIT_MB (argv[2], x1024 x1024 bytes, as both tools parse
"200M") it appends the crossing time to argv[1] + ".cross". The benchmark pairs a
crossing with the next start. Memory is touched (b"x" * n), so it is resident, not
merely reserved. It stops growing at 4x the limit and waits, so a slow tool does not
exhaust the machine.
"""

import os
import sys
import time

starts, limit = sys.argv[1], int(sys.argv[2]) * 2**20
step = int(float(sys.argv[3]) * 2**20) if len(sys.argv) > 3 else 5 * 2**20
with open(starts, "a") as handle:
    handle.write(f"{time.time():.6f}\n")
page = os.sysconf("SC_PAGE_SIZE")
hoard: list[bytes] = []
crossed = False
next_step = time.monotonic()
while True:
    with open("/proc/self/statm") as statm:
        rss = int(statm.read().split()[1]) * page
    if rss < 4 * limit:
        hoard.append(b"x" * step)
        with open("/proc/self/statm") as statm:
            rss = int(statm.read().split()[1]) * page
    if rss > limit and not crossed:
        crossed = True
        with open(starts + ".cross", "a") as handle:
            handle.write(f"{time.time():.6f}\n")
    next_step += 0.1
    time.sleep(max(0.0, next_step - time.monotonic()))
