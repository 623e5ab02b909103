"""A queue worker that needs the database: takes a job every few seconds."""

import os
import signal
import sys
import time

signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"worker: connected to {os.environ.get('DATABASE_URL', '?')}", flush=True)
job = 0
while True:
    job += 1
    print(f"worker: job {job} done", flush=True)
    time.sleep(float(os.environ.get("WORKER_PERIOD", "5")))
