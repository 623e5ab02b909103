"""A tiny HTTP server answering its pid; serves an inherited socket, or binds one itself.

Usage: webapp.py PORT STARTS_DIR. Under corral (`listen`), the daemon's socket arrives
as fd 3 (LISTEN_FDS=1, LISTEN_PID = this pid) and every instance accepts on it. Without
one (pm2 has no socket sharing for non-Node apps) each instance binds 127.0.0.1:PORT
itself with SO_REUSEPORT, the kernel spreading connections over the instances. Once
serving it writes STARTS_DIR/PID.start. SIGINT/SIGTERM: stop accepting, finish the
requests in flight, exit 0.
"""

import http.server
import os
import signal
import socket
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        body = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128


inherited = os.environ.get("LISTEN_PID") == str(os.getpid()) and os.environ.get("LISTEN_FDS")
server = Server(("127.0.0.1", int(sys.argv[1])), Handler, bind_and_activate=False)
if inherited:
    server.socket.close()
    server.socket = socket.socket(fileno=3)
    # Shared by every instance: select() wakes them all for one connection, and a blocking
    # accept() in those that lose the race waits for the next one, past a shutdown().
    server.socket.setblocking(False)
else:
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    server.server_bind()
    server.server_activate()


def on_signal(*_: object) -> None:
    # shutdown() waits for serve_forever, so it must not run on serve_forever's thread.
    threading.Thread(target=server.shutdown).start()


signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)
path = os.path.join(sys.argv[2], f"{os.getpid()}.start")
with open(path + ".tmp", "w") as handle:
    handle.write(f"{time.time():.6f}\n")
os.replace(path + ".tmp", path)
server.serve_forever()
server.server_close()
sys.exit(0)
