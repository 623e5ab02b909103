"""Provides the RPC wire format: one JSON object per line, a hello first, then requests.

Both sides send `{"hello": {"version": PROTOCOL_VERSION, "corral": __version__}}` as
their first line. Then the client sends requests and the daemon answers each in order:

    → {"id": 1, "method": "stop", "params": {"targets": ["web"]}}
    ← {"id": 1, "result": [{"id": 0, "name": "web", "status": "stopped", …}]}
    ← {"id": 2, "error": {"code": "unknown_target", "message": "process or namespace not found: x"}}

After a `subscribe` request is answered, the daemon only sends `{"events": [{…}, …]}` lines on
that connection. Stdlib only: the CLI imports this on every command.
"""

from __future__ import annotations

import json

import corral

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROTOCOL_VERSION = 1
"""Bumped on any incompatible change. `ping`, `list` and `kill` keep their shapes across
versions, so `corral update` can always move apps from an old daemon to a new one."""

MAX_LINE = 4 * 1024 * 1024
"""Longest request line the daemon reads; a longer one gets an error and a closed socket.
Bounds each connection's buffer. The CLI splits a big `add` into several requests; one
app's spec (its environment included) must fit in one, and the CLI says so when it does
not. 4 MiB is twice what Linux lets a process's arguments and environment take at exec
(a quarter of the default 8 MiB stack limit), so no app that could start is refused."""

MAX_HELLO = 4096
"""Longest hello line: a client that has not said who it is gets no bigger buffer."""

HANDSHAKE_TIMEOUT_S = 2.0
"""A client that sends no hello within this long is disconnected (ours send it at once)."""

JsonId = int | str | None


class ErrorCode:
    """The `code` of an error reply; messages are for people, codes for programs."""

    BAD_JSON = "bad_json"
    BAD_REQUEST = "bad_request"
    BAD_PARAMS = "bad_params"
    UNKNOWN_METHOD = "unknown_method"
    UNKNOWN_TARGET = "unknown_target"
    LINE_TOO_LONG = "line_too_long"
    HANDSHAKE = "handshake"
    FORBIDDEN = "forbidden"
    BUSY = "busy"
    FAILED = "failed"
    LAGGED = "lagged"
    INTERNAL = "internal"


class ProtocolError(Exception):
    """A message that breaks the protocol; `fatal` ones close the connection."""

    def __init__(self, code: str, message: str, *, id: JsonId = None, fatal: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.id = id
        self.fatal = fatal


class Hello:
    """What a peer says about itself in its first line."""

    __slots__ = ("corral", "extra", "version")

    def __init__(self, version: int, corral: str, extra: dict[str, Any]) -> None:
        self.version = version
        """The protocol version."""
        self.corral = corral
        """The corral release."""
        self.extra = extra
        """Anything else (the daemon sends its `pid` and `home`)."""

    def __repr__(self) -> str:
        return f"Hello(version={self.version}, corral={self.corral!r}, extra={self.extra!r})"


class Request:
    """One call: `id` is echoed in the reply."""

    __slots__ = ("id", "method", "params")

    def __init__(self, request_id: JsonId, method: str, params: dict[str, Any]) -> None:
        self.id = request_id
        self.method = method
        self.params = params


def encode(message: dict[str, Any]) -> bytes:
    """One line of compact JSON (UTF-8, newline-terminated; JSON escapes any newline).

    A lone surrogate (JSON allows `\\udc80`) cannot be UTF-8: it goes out as that same
    JSON escape, since it can only occur inside a string.
    """
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """Parse one line into an object; anything else raises ProtocolError(bad_json)."""
    try:
        value = json.loads(line)
    except (ValueError, RecursionError) as exc:
        # ValueError covers invalid UTF-8 and over-long integers; RecursionError deep nesting.
        raise ProtocolError(ErrorCode.BAD_JSON, f"not JSON: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a message must be a JSON object")
    return value


def hello(**extra: Any) -> dict[str, Any]:
    """Our hello message; EXTRA adds facts (the daemon sends its pid and home)."""
    return {"hello": {"version": PROTOCOL_VERSION, "corral": corral.__version__, **extra}}


def parse_hello(message: dict[str, Any]) -> Hello:
    """The peer's hello, or ProtocolError(handshake, fatal)."""
    body = message.get("hello")
    if not isinstance(body, dict):
        raise ProtocolError(ErrorCode.HANDSHAKE, "expected a hello first", fatal=True)
    version, release = body.get("version"), body.get("corral")
    if type(version) is not int or not isinstance(release, str):
        raise ProtocolError(ErrorCode.HANDSHAKE, "hello needs version and corral", fatal=True)
    extra = {k: v for k, v in body.items() if k not in ("version", "corral")}
    return Hello(version, release, extra)


def parse_request(message: dict[str, Any]) -> Request:
    """A request, or ProtocolError(bad_request) carrying its id when it had a usable one."""
    raw_id = message.get("id")
    id_ok = raw_id is None or type(raw_id) in (int, str)
    request_id: JsonId = raw_id if id_ok else None
    method, params = message.get("method"), message.get("params", {})
    if not id_ok:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "id must be an integer or a string")
    if not isinstance(method, str) or not method:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "method must be a string", id=request_id)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "params must be an object", id=request_id)
    return Request(request_id, method, params)


def request(request_id: JsonId, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A request message."""
    return {"id": request_id, "method": method, "params": params}


def result(request_id: JsonId, value: Any) -> dict[str, Any]:
    """A success reply."""
    return {"id": request_id, "result": value}


def error(request_id: JsonId, code: str, message: str) -> dict[str, Any]:
    """An error reply."""
    return {"id": request_id, "error": {"code": code, "message": message}}


def events(data: list[dict[str, Any]]) -> dict[str, Any]:
    """Streamed events (`event_to_dict` form) on a subscribed connection, batched: what
    happened within a few milliseconds travels as one message."""
    return {"events": data}
