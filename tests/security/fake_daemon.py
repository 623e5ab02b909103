"""An impostor daemon for tests/security: listens on argv[1], answers like corral's daemon,
and appends every byte it is sent to argv[2]. Run as another uid (setpriv)."""

import socket
import sys

server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen()
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    with conn, open(sys.argv[2], "ab") as record:
        conn.sendall(b'{"hello":{"version":1,"corral":"0.1.0","pid":1}}\n')
        for line in conn.makefile("rb"):
            record.write(line)
            record.flush()
            if b'"method"' in line:
                conn.sendall(b'{"id":1,"result":[]}\n')
