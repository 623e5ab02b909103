"""An http.server app that binds its own port and stops gracefully on SIGINT/SIGTERM:
its handler asks serve_forever to return (shutdown() from a thread, as the docs say),
then the server closes after the requests in flight. Answers its pid."""

import http.server
import os
import signal
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)


def on_signal(*_: object) -> None:
    threading.Thread(target=server.shutdown).start()


signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)
print(f"serving as {os.getpid()}", flush=True)
server.serve_forever()
server.server_close()
print("stopped gracefully", flush=True)
