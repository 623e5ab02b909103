"""The bare respawn loop: runs `python crasher.py FILE` COUNT times, back to back.

Usage: respawn.py COUNT PYTHON CRASHER FILE. It is the floor a process manager's
restart path is measured against: spawn, wait, spawn again, nothing else.
"""

import subprocess
import sys

count, python, crasher, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
for _ in range(count):
    subprocess.Popen([python, crasher, path]).wait()
