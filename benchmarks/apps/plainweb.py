"""An ordinary http.server app, as a user writes it: it binds its own port, no tricks.

Usage: plainweb.py PORT STARTS_DIR. It binds 127.0.0.1:PORT itself (no inherited socket,
no SO_REUSEPORT, no signal handler), writes STARTS_DIR/PID.start once bound, and serves
its pid. Under pm2, 4 instances of it are 4 forks and all but one fail on EADDRINUSE;
under corral, cluster mode's shim hands each instance's bind() the shared socket.
"""

import http.server
import os
import sys
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


with http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler) as server:
    path = os.path.join(sys.argv[2], f"{os.getpid()}.start")
    with open(path + ".tmp", "w") as handle:
        handle.write(f"{time.time():.6f}\n")
    os.replace(path + ".tmp", path)
    server.serve_forever()
