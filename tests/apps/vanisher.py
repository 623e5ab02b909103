"""Leaves a grandchild that nothing about it ties to its app: it double-forks, the
grandchild calls setsid and re-execs itself with an EMPTY environment (no CORRAL_RUN token,
no CORRAL_HOME), ignores SIGINT, SIGTERM and SIGHUP, and writes its pid to argv[1].

The middle process exits (orphaning the grandchild to the engine, a subreaper) once the
file argv[2] exists, so a test can let the sampler see the grandchild in the app's tree
first; without argv[2] it exits at once.
"""

import os
import signal
import sys
import time

if sys.argv[1:2] == ["--grandchild"]:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    path = sys.argv[2]
    with open(path + ".tmp", "w") as handle:
        handle.write(f"{os.getpid()}\n")
    os.rename(path + ".tmp", path)
    while True:
        time.sleep(3600)

pidfile = sys.argv[1]
release = sys.argv[2] if len(sys.argv) > 2 else None
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid()
        script = os.path.abspath(__file__)
        os.execve(sys.executable, [sys.executable, script, "--grandchild", pidfile], {})
    while release and not os.path.exists(release):
        time.sleep(0.02)
    os._exit(0)
print("vanisher ready", flush=True)
while True:
    time.sleep(3600)
