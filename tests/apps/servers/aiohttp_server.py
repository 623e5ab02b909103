"""An aiohttp app run with web.run_app; answers its pid."""

import os
import sys

from aiohttp import web


async def pid(request: web.Request) -> web.Response:
    return web.Response(text=str(os.getpid()))


app = web.Application()
app.router.add_get("/", pid)
print("serving", flush=True)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, shutdown_timeout=2)
