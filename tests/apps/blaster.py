"""Prints `waiting N` lines until the file argv[2] exists, then writes argv[1] megabytes of
100-byte lines to stdout as fast as it can (a log flood), then sleeps. With a third
argument, the flood goes on past argv[1] megabytes until that file exists. It ends with
`flood done BLOCKS`: how many blocks of 640 lines it wrote."""

import os
import sys
import time

total = int(sys.argv[1]) * 1024 * 1024
go = sys.argv[2] if len(sys.argv) > 2 else ""
stop = sys.argv[3] if len(sys.argv) > 3 else ""
n = 0
while go and not os.path.exists(go):
    n += 1
    os.write(1, f"waiting {n}\n".encode())
    time.sleep(0.02)
block = (b"x" * 99 + b"\n") * 640
written = blocks = 0
while written < total or (stop and not os.path.exists(stop)):
    view = memoryview(block)
    while view:
        view = view[os.write(1, view) :]
    written += len(block)
    blocks += 1
os.write(1, b"flood done %d\n" % blocks)
while True:
    time.sleep(3600)
