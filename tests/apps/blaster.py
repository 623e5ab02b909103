"""Prints `waiting N` lines until the file argv[2] exists, then writes argv[1] megabytes of
100-byte lines to stdout as fast as it can (a log flood), then sleeps."""

import os
import sys
import time

total = int(sys.argv[1]) * 1024 * 1024
go = sys.argv[2] if len(sys.argv) > 2 else ""
n = 0
while go and not os.path.exists(go):
    n += 1
    os.write(1, f"waiting {n}\n".encode())
    time.sleep(0.02)
block = (b"x" * 99 + b"\n") * 640
written = 0
while written < total:
    written += os.write(1, block)
os.write(1, b"flood done\n")
while True:
    time.sleep(3600)
