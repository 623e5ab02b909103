"""Writes the file argv[1] to stdout (or stderr with --stderr) in 1 MiB os.write calls.

The output is precomputed by the benchmark, so the writer is never the bottleneck: the
only work here is the writes. Before the first write it records its clock in the file
argv[2] (the start of the burst), then it sleeps, so no tool restarts it mid-check.
"""

import os
import sys
import time

BLOCK = 1 << 20
with open(sys.argv[1], "rb") as handle:
    data = memoryview(handle.read())
fd = 2 if "--stderr" in sys.argv else 1
started = time.time()
with open(sys.argv[2] + ".tmp", "w") as note:
    note.write(f"{started:.6f}\n")
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
offset = 0
while offset < len(data):
    offset += os.write(fd, data[offset : offset + BLOCK])
while True:
    time.sleep(3600)
