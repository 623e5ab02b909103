"""A web app that needs the database and its migrations: says what it was given, then serves.

It prints its settings (from the env file and `env`) as `web: KEY=value` lines, so
`corral logs web` shows what a restart or reload gave it; then answers HTTP on $PORT.
"""

import http.server
import os
import signal
import sys

signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
for key in ("DATABASE_URL", "GREETING", "PORT"):
    print(f"web: {key}={os.environ.get(key, '')}", flush=True)


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"{os.environ.get('GREETING', 'hello')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"web: {self.address_string()} {format % args}", flush=True)


port = int(os.environ.get("PORT", "0"))
with http.server.HTTPServer(("127.0.0.1", port), Hello) as server:
    print(f"web: serving on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
