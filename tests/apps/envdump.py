"""Prints its environment as one JSON line, then sleeps."""

import json
import os
import time

print(json.dumps(dict(os.environ)), flush=True)
while True:
    time.sleep(3600)
