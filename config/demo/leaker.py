"""Leaks about 1 MB a second and says how much it holds (max_memory_restart catches it)."""

import time

hoard = []
while True:
    hoard.append(bytearray(1024 * 1024))
    if len(hoard) % 5 == 0:
        print(f"leaker: holding {len(hoard)} MB", flush=True)
    time.sleep(1)
