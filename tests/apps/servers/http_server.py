"""An ordinary http.server app that binds its own port (`--port N`); answers its pid.

With --graceful it stops as the docs say a server should: its SIGINT/SIGTERM handler asks
serve_forever to return (shutdown() from a thread), then it says "stopped gracefully"."""

import argparse
import http.server
import os
import signal
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--graceful", action="store_true")
options = parser.parse_args()
port = options.port


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


with http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler) as server:
    if options.graceful:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"serving on {port} as {os.getpid()}", flush=True)
    server.serve_forever()
if options.graceful:
    print("stopped gracefully", flush=True)
