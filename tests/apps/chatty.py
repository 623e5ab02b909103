"""Writes COUNT numbered lines to stdout (and every 10th to stderr), then sleeps or exits.

Usage: chatty.py COUNT [--exit] [--interval SECONDS]
"""

import sys
import time

count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
interval = float(sys.argv[sys.argv.index("--interval") + 1]) if "--interval" in sys.argv else 0.0
for i in range(count):
    print(f"line {i}", flush=interval > 0)
    if i % 10 == 0:
        print(f"err {i}", file=sys.stderr, flush=interval > 0)
    if interval:
        time.sleep(interval)
sys.stdout.flush()
print("done", flush=True)
if "--exit" not in sys.argv:
    while True:
        time.sleep(3600)
