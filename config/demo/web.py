"""A tiny HTTP server on 127.0.0.1:$PORT that logs each request (the demo's web app)."""

import http.server
import os

PORT = int(os.environ.get("PORT", "8765"))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = f"hello from instance {os.environ.get('NODE_APP_INSTANCE')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        print(f"{self.address_string()} {format % args}", flush=True)


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print(f"listening on http://127.0.0.1:{PORT}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:  # corral stops apps with SIGINT (PM2's kill_signal): a clean exit
    print("web: stopping", flush=True)
    server.server_close()
