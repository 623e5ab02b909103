"""A tiny WSGI and ASGI app for the cluster examples: answers with the worker's pid."""

import os


def wsgi(environ: dict[str, object], start_response: object) -> list[bytes]:
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])  # type: ignore[operator]
    return [body]


async def asgi(scope: dict[str, object], receive: object, send: object) -> None:
    assert scope["type"] == "http"
    body = str(os.getpid()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,  # type: ignore[operator]
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})  # type: ignore[operator]
