"""A stand-in queue worker for the pm2-pair example: prints a line every second, forever."""

import os
import time

while True:
    print(f"worker polling {os.environ.get('QUEUE_URL', '?')}", flush=True)
    time.sleep(1)
