"""Whatever a daemon sends, the async client raises only BACKEND_ERRORS, which is all the
TUI and the fleet catch: a broken or hostile peer is reported, never a crash."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from corral import __version__
from corral.daemon import protocol
from corral.daemon.aclient import AsyncClient
from corral.daemon.client import DaemonError
from corral.engine.api import BACKEND_ERRORS

HELLO = {"hello": {"version": protocol.PROTOCOL_VERSION, "corral": __version__}}


async def _serve(*replies: bytes) -> AsyncIterator[AsyncClient]:
    """A peer on loopback that answers a hello with REPLIES, then keeps the line open."""

    async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        for reply in replies:
            writer.write(reply)
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield AsyncClient(opener=lambda: asyncio.open_connection("127.0.0.1", port))
    finally:
        server.close()


def _line(message: object) -> bytes:
    return json.dumps(message).encode() + b"\n"


BAD_EVENTS = [
    pytest.param({"kind": "log", "id": 0}, id="missing-keys"),
    pytest.param(
        {"kind": "log", "id": 0, "name": "a", "stream": "out", "ts": 1, "lines": [1]},
        id="wrong-type",
    ),
    pytest.param(["not", "an", "object"], id="not-an-object"),
    pytest.param({"kind": "lagged", "lines": "x", "events": 0, "ts": 1}, id="bad-number"),
]


@pytest.mark.parametrize("event", BAD_EVENTS)
async def test_a_malformed_event_is_a_daemon_error(event: object) -> None:
    async for client in _serve(_line(HELLO), _line({"events": [event]})):
        with pytest.raises(DaemonError, match="bad event"):
            async for _ in client.events():
                pass


@pytest.mark.parametrize(
    "replies",
    [
        pytest.param([b"not json\n"], id="hello-not-json"),
        pytest.param([_line({"hello": "x"})], id="hello-malformed"),
        pytest.param([_line(HELLO), b"\xff\xfe garbage\n"], id="reply-not-json"),
        pytest.param([_line(HELLO), b"[1, 2]\n"], id="reply-not-an-object"),
    ],
)
async def test_a_broken_peer_raises_only_backend_errors(replies: list[bytes]) -> None:
    async for client in _serve(*replies):
        with pytest.raises(BACKEND_ERRORS) as caught:
            await asyncio.wait_for(client.call("list"), 10)
        assert isinstance(caught.value, DaemonError)
