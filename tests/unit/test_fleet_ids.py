"""Fleet ids: small, in order of first sight, never reused, and routed back to their host."""

from __future__ import annotations

from corral.daemon.fleet import FleetIds


def test_fleet_ids_are_given_in_order_and_route_back() -> None:
    ids = FleetIds()
    assert [ids.of(0, 0), ids.of(1, 0), ids.of(0, 7), ids.of(1, 0)] == [0, 1, 2, 1]
    assert ids.of(1, -1) == -1  # the supervisor's own messages keep their id
    assert ids.pair(2) == (0, 7)
    assert ids.pair(1) == (1, 0)
    assert ids.pair(3) is None and ids.pair(-1) is None


async def test_a_host_speaking_another_protocol_is_refused_clearly() -> None:
    """A daemon whose hello names another protocol version is refused at the handshake,
    with both versions named, before any request is sent (the fleet shows it as the
    host's reason for being disconnected)."""
    import asyncio
    import json

    import pytest

    from corral.daemon.aclient import AsyncClient
    from corral.daemon.client import DaemonError

    heard: list[bytes] = []
    finished = asyncio.Event()

    async def old_daemon(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heard.append(await reader.readline())
        hello = {"hello": {"version": 99, "corral": "9.9.9"}}
        writer.write(json.dumps(hello).encode() + b"\n")
        heard.append(await reader.read())  # until the client hangs up: no request comes
        writer.close()
        finished.set()

    server = await asyncio.start_server(old_daemon, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = AsyncClient(opener=lambda: asyncio.open_connection("127.0.0.1", port))
    with pytest.raises(DaemonError, match=r"protocol 99 \(corral 9\.9\.9\)") as caught:
        await client.call("list")
    assert caught.value.code == "handshake"
    await asyncio.wait_for(finished.wait(), 10)
    server.close()
    await server.wait_closed()
    assert len(heard) == 2 and b"hello" in heard[0] and heard[1] == b""


def test_probe_events_take_the_fleet_id_and_name() -> None:
    """A host's probe results reach the fleet monitor under its fleet id and HOST/name."""
    from typing import Any, cast

    from corral.daemon.fleet import FleetAPI, Host
    from corral.engine.events import ProbeChecked, ProbeStatus

    fleet = FleetAPI.__new__(FleetAPI)  # routing only: no ssh, no client
    ids = FleetIds()
    ids.of(0, 0)
    host = Host(1, "web1", cast(Any, None), cast(Any, None), ids)
    status = ProbeStatus("liveness", "tcp", ":1")
    mapped = fleet._map(host, ProbeChecked(0, "api", 1.0, status))
    assert mapped == ProbeChecked(1, "web1/api", 1.0, status)
