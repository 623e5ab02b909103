"""Appends its start time to the file named by argv[1], then exits 1 at once.

The first act is the write, so the gaps between lines are start-to-start gaps as the
app itself sees them (interpreter start-up included, the same for every tool).
"""

import sys
import time

with open(sys.argv[1], "a") as handle:
    handle.write(f"{time.time():.6f}\n")
sys.exit(1)
