"""The wire format, the peer check, the table formatting and the fast row form, without a daemon."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.cli import table
from corral.daemon import protocol
from corral.daemon.protocol import ErrorCode, ProtocolError
from corral.daemon.rows import row
from corral.daemon.server import peer_allowed
from corral.engine.events import ProcessInfo
from corral.engine.states import ProcessState
from tests.helpers import any_text, app

text = any_text(max_size=40)  # any code point, newlines too; long strings add nothing
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(text, json_values, max_size=5))
def test_encode_is_one_line_and_decodes_back(message: dict[str, Any]) -> None:
    line = protocol.encode(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert protocol.decode(line) == message


def test_lone_surrogates_travel_as_json_escapes() -> None:
    line = protocol.encode({"a": "\udc80x"})
    assert protocol.decode(line) == {"a": "\udc80x"}


@given(st.binary(max_size=300))
def test_decode_raises_only_protocol_errors(data: bytes) -> None:
    codes = []
    try:
        message = protocol.decode(data)
        protocol.parse_request(message)
    except ProtocolError as exc:
        codes.append(exc.code)
    assert set(codes) <= {ErrorCode.BAD_JSON, ErrorCode.BAD_REQUEST}


@pytest.mark.parametrize(
    "payload",
    [b"[" * 50_000, b"1" * 5000, b"\xff\xfe", b"[]", b'"x"', b"nul", b'{"a": NaN}x'],
)
def test_decode_rejects_hostile_lines(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode(payload)


def test_requests_and_hellos_are_checked() -> None:
    request = protocol.parse_request({"id": 3, "method": "stop", "params": {"targets": ["a"]}})
    assert (request.id, request.method, request.params) == (3, "stop", {"targets": ["a"]})
    assert protocol.parse_request({"id": "x", "method": "ping"}).params == {}
    for bad in ({"id": [1], "method": "x"}, {"id": 1}, {"id": 1, "method": "x", "params": [1]}):
        with pytest.raises(ProtocolError):
            protocol.parse_request(bad)
    hello = protocol.parse_hello(protocol.hello(pid=5))
    assert hello.version == protocol.PROTOCOL_VERSION and hello.extra == {"pid": 5}
    bad_hellos: list[dict[str, Any]] = [
        {},
        {"hello": {"version": "1", "corral": "x"}},
        {"hello": []},
    ]
    for bad_hello in bad_hellos:
        with pytest.raises(ProtocolError) as caught:
            protocol.parse_hello(bad_hello)
        assert caught.value.fatal and caught.value.code == ErrorCode.HANDSHAKE


def test_only_our_uid_and_root_are_allowed() -> None:
    assert peer_allowed(1000, 1000) and peer_allowed(0, 1000)
    assert not peer_allowed(1001, 1000) and not peer_allowed(None, 1000)
    assert peer_allowed(0, 0) and not peer_allowed(65534, 0)


def test_fast_rows_read_back_as_process_info() -> None:
    spec = app("sleeper.py", "web", args=("a",))
    info = ProcessInfo(0, "web", "default", 0, ProcessState.ONLINE, 42, 1, 0, 1.0, 1.0, spec=spec)
    wire = json.loads(json.dumps(row(info, "/h", "me")))
    back = ProcessInfo.from_dict(wire)
    assert (back.cpu, back.memory) == (0.0, 0)  # PM2 reports 0 until measured; jlist too
    assert dataclasses.replace(back, cpu=None, memory=None) == info
    slow = json.loads(json.dumps(info.to_dict()))
    assert {k: v for k, v in wire.items() if k in slow and k not in ("cpu", "memory")} == {
        k: v for k, v in slow.items() if k not in ("cpu", "memory")
    }
    assert wire["logs"] == {
        "out": "/h/logs/web-out.log",
        "err": "/h/logs/web-error.log",
        "combined": None,
    }


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (59_999, "59s"),
        (60_000, "1m"),
        (7_200_000, "2h"),
        (4 * 86_400_000, "4D"),
        (400 * 86_400_000, "1Y"),
    ],
)
def test_uptime_reads_like_pm2(ms: int, text: str) -> None:
    assert table.uptime(ms) == text


@pytest.mark.parametrize(
    ("size", "text"), [(512, "512B"), (4096, "4K"), (12_897_485, "12.3M"), (2**31, "2G")]
)
def test_memory_reads_like_the_config_and_the_tui(size: int, text: str) -> None:
    """One formatter for `corral list` and the TUI, in the units `max_memory_restart` uses."""
    assert table.memory(size) == text


class FakeTerminal(io.StringIO):
    def __init__(self, columns: int) -> None:
        super().__init__()
        self.columns = columns

    def isatty(self) -> bool:
        return True


ROWS = [
    {"id": 0, "name": "web", "namespace": "default", "status": "online", "pid": 7, "cpu": 1.0},
    {"id": 1, "name": "job", "namespace": "default", "status": "errored", "pid": None},
]


def test_table_colours_on_a_terminal_and_narrows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(table, "width_of", lambda stream: getattr(stream, "columns", None))
    wide = table.render(ROWS, FakeTerminal(160))
    assert "\x1b[32monline" in wide and "\x1b[31merrored" in wide and "watching" in wide
    narrow = table.render(ROWS, FakeTerminal(80))
    assert "namespace" not in narrow and "↺" in narrow
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in table.render(ROWS, FakeTerminal(160))
    piped = table.render(ROWS, io.StringIO(), compact_when_piped=True)
    assert piped.splitlines()[0].split() == ["id", "name", "pid", "restarts", "status"]
