"""Works for a few seconds, then crashes with a traceback (the policy restarts it)."""

import random
import time

lifetime = random.uniform(2, 6)
print(f"flaky: up, will crash in {lifetime:.1f} s", flush=True)
time.sleep(lifetime)
raise RuntimeError("flaky: lost the connection to the database")
