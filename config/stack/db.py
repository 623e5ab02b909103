"""A database stand-in: ready only after a delay, as a real database replaying its journal.

Usage: db.py [DELAY_SECONDS]   (default 1.5; or DB_DELAY in the environment)

It tells corral it is ready with READY=1 on NOTIFY_SOCKET (systemd's notify protocol,
which `wait_ready = true` asks corral to wait for), then idles until it is stopped.
"""

import os
import signal
import socket
import sys
import time

delay = float(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DB_DELAY", "1.5"))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print(f"db: starting, ready in {delay} s", flush=True)
time.sleep(delay)
target = os.environ.get("NOTIFY_SOCKET")
if target:
    address = "\0" + target[1:] if target.startswith("@") else target
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as note:
        note.sendto(b"READY=1", address)
print("db: ready", flush=True)
while True:
    time.sleep(3600)
