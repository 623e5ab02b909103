"""An HTTP server on 127.0.0.1:$PORT that answers 200 until SIGUSR1, then hangs.

After SIGUSR1 the process lives on and its socket still accepts connections (the
kernel's backlog), but nothing answers: what a deadlocked server looks like from
outside, and what only a liveness probe can catch.
"""

import os
import signal
import socket
import time

hung = False


def hang(_sig: int, _frame: object) -> None:
    global hung
    hung = True


signal.signal(signal.SIGUSR1, hang)
server = socket.create_server(("127.0.0.1", int(os.environ["PORT"])), reuse_port=False)
server.settimeout(0.1)
print("serving", flush=True)
while not hung:
    try:
        conn, _ = server.accept()
    except TimeoutError:
        continue
    with conn:
        conn.settimeout(1.0)
        try:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
print("hung", flush=True)
while True:
    time.sleep(3600)
