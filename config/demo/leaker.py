"""Leaks about 1 MB a second and says how much it holds (max_memory_restart catches it)."""

import time

hoard = []
try:
    while True:
        hoard.append(bytearray(1024 * 1024))
        if len(hoard) % 5 == 0:
            print(f"leaker: holding {len(hoard)} MB", flush=True)
        time.sleep(1)
except KeyboardInterrupt:  # corral stops apps with SIGINT (PM2's kill_signal): a clean exit
    print(f"leaker: stopping, letting go of {len(hoard)} MB", flush=True)
