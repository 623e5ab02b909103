"""A migration: runs its steps and exits, 0 when they all worked.

Usage: migrate.py [EXIT_CODE]   (default 0; or MIGRATE_EXIT in the environment)
"""

import os
import sys
import time

code = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MIGRATE_EXIT", "0"))
for step in ("0001_initial", "0002_users", "0003_orders"):
    print(f"migrate: applying {step}", flush=True)
    time.sleep(0.1)
if code:
    print(f"migrate: 0003_orders failed, exiting {code}", file=sys.stderr, flush=True)
else:
    print("migrate: done", flush=True)
sys.exit(code)
