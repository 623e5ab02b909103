"""A chatty worker: a job line every half second, a warning on stderr now and then."""

import random
import sys
import time

job = 0
try:
    while True:
        job += 1
        took = random.uniform(5, 120)
        print(f"job {job} done in {took:.0f} ms", flush=True)
        if job % 7 == 0:
            print(f"job {job}: retrying a slow upstream", file=sys.stderr, flush=True)
        time.sleep(0.5)
except KeyboardInterrupt:  # corral stops apps with SIGINT (PM2's kill_signal): a clean exit
    print(f"worker: stopping after {job} jobs", flush=True)
