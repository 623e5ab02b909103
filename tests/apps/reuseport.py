"""Binds $PORT itself with SO_REUSEPORT (PM2-style apps that share a port by themselves)."""

import http.server
import os
import signal
import socket
import threading


class Server(http.server.ThreadingHTTPServer):
    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the stdlib's name
        body = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


server = Server(("127.0.0.1", int(os.environ["PORT"])), Handler)
signal.signal(signal.SIGINT, lambda *_: threading.Thread(target=server.shutdown).start())
print(f"bound {os.environ['PORT']} as {os.getpid()}", flush=True)
server.serve_forever()
server.server_close()
