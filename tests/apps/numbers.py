"""Writes COUNT numbered lines as fast as it can, then exits 0.

Usage: numbers.py COUNT [--err] [--width N] [--no-final-newline] [--junk]
Each line is the number, then padding to WIDTH bytes (default 56 with the newline).
--junk puts bytes that are not UTF-8 after each number.
"""

import os
import sys

count = int(sys.argv[1])
width = int(sys.argv[sys.argv.index("--width") + 1]) if "--width" in sys.argv else 56
fd = 2 if "--err" in sys.argv else 1
junk = b" \xff\xfe" if "--junk" in sys.argv else b""
block = []
for i in range(count):
    head = b"%d" % i + junk
    line = head + b" " + b"x" * max(0, width - len(head) - 2)
    last = i == count - 1 and "--no-final-newline" in sys.argv
    block.append(line if last else line + b"\n")
    if len(block) >= 512 or i == count - 1:
        data = b"".join(block)
        while data:
            data = data[os.write(fd, data) :]
        block = []
