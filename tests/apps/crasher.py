"""Exits with code CODE (default 1) after DELAY seconds (default 0); prints its env marker.

Usage: crasher.py [CODE] [DELAY]
"""

import os
import sys
import time

code = int(sys.argv[1]) if len(sys.argv) > 1 else 1
delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
print(f"crasher pid={os.getpid()} instance={os.environ.get('NODE_APP_INSTANCE')}", flush=True)
if delay:
    time.sleep(delay)
sys.exit(code)
