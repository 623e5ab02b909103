"""A wsgiref app (single-threaded) that binds its own port; answers its pid."""

import os
import sys
from collections.abc import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, make_server


def app(environ: dict[str, object], start: Callable[..., object]) -> Iterable[bytes]:
    body = str(os.getpid()).encode()
    start("200 OK", [("Content-Length", str(len(body)))])
    return [body]


class Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


port = int(sys.argv[1])
with make_server("127.0.0.1", port, app, handler_class=Quiet) as server:
    print(f"serving on {port}", flush=True)
    server.serve_forever()
