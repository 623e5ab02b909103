"""A small HTTP server for cluster tests: serves on the inherited socket (LISTEN_FDS).

Answers `pid` on every request. With --notify it sends READY=1 to NOTIFY_SOCKET once
serving (after --delay seconds). --never-ready never sends it. SIGINT/SIGTERM: finish
the requests in flight, then exit 0.
"""

import http.server
import os
import signal
import socket
import sys
import threading
import time

if os.environ.get("LISTEN_PID") != str(os.getpid()) or os.environ.get("LISTEN_FDS") != "1":
    print(f"no socket to inherit: LISTEN_PID={os.environ.get('LISTEN_PID')}", file=sys.stderr)
    sys.exit(3)
delay = float(sys.argv[sys.argv.index("--delay") + 1]) if "--delay" in sys.argv else 0.0
time.sleep(delay)


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

    def server_bind(self) -> None:  # the socket is already bound and listening
        pass

    def server_activate(self) -> None:
        pass


server = Server(("", 0), Handler, bind_and_activate=False)
server.socket = socket.socket(fileno=3)
# Every instance accepts from this one socket: serve_forever's select() wakes them all for
# one connection, and a blocking accept() in the ones that lose the race would wait for
# the next connection, past a shutdown() (an instance stopped after the load ended hung
# until corral's SIGKILL). Non-blocking, the losers get EAGAIN, which socketserver ignores.
server.socket.setblocking(False)
server.server_address = server.socket.getsockname()


def on_signal(*_: object) -> None:
    # shutdown() waits for serve_forever, so it must not run on serve_forever's thread.
    threading.Thread(target=server.shutdown).start()


signal.signal(signal.SIGINT, on_signal)
signal.signal(signal.SIGTERM, on_signal)
if "--notify" in sys.argv and "--never-ready" not in sys.argv:
    target = os.environ["NOTIFY_SOCKET"]
    address = "\0" + target[1:] if target.startswith("@") else target
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as note:
        note.sendto(b"READY=1", address)
print(f"serving on fd 3 as pid {os.getpid()}", flush=True)
server.serve_forever()  # returns after shutdown; the listening socket stays open in corral
server.server_close()  # waits for the requests in flight (block_on_close)
sys.exit(0)
