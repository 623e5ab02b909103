"""An ordinary http.server app that binds its own port (`--port N`); answers its pid."""

import argparse
import http.server
import os

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=8000)
port = parser.parse_args().port


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
    print(f"serving on {port}", flush=True)
    server.serve_forever()
