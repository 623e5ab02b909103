"""Works for a few seconds, then crashes with a traceback (the policy restarts it)."""

import random
import sys
import time

lifetime = random.uniform(2, 6)
print(f"flaky: up, will crash in {lifetime:.1f} s", flush=True)
try:
    time.sleep(lifetime)
except KeyboardInterrupt:  # stopped by corral (SIGINT) before its crash: a clean exit
    sys.exit(0)
raise RuntimeError("flaky: lost the connection to the database")
