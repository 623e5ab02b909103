"""LineSplitter keeps every byte and bounds what it holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from corral.engine.lines import LineSplitter


def test_partial_lines_wait_for_newline() -> None:
    s = LineSplitter()
    assert s.feed(b"hel") == []
    assert s.feed(b"lo\nwor") == [b"hello"]
    assert s.pending
    assert s.flush() == [b"wor"]
    assert not s.pending


def test_crlf_and_long_lines() -> None:
    s = LineSplitter(max_line=4)
    assert s.feed(b"ab\r\n") == [b"ab"]
    assert s.feed(b"abcdefghij\n") == [b"abcd", b"efgh", b"ij"]
    assert s.feed(b"123456") == [b"1234"]
    assert s.flush() == [b"56"]


def test_invalid_utf8_is_kept() -> None:
    assert LineSplitter().feed(b"\xff\xfeok\n") == [b"\xff\xfeok"]


@given(st.lists(st.binary(max_size=50), max_size=30), st.integers(1, 16))
def test_no_byte_is_lost(chunks: list[bytes], max_line: int) -> None:
    s = LineSplitter(max_line=max_line)
    out: list[bytes] = []
    for chunk in chunks:
        out.extend(s.feed(chunk))
        assert len(s._partial) < max_line  # bounded memory
    out.extend(s.flush())
    data = b"".join(chunks)
    # Only newlines (and a \r right before one) disappear; every other byte survives in order.
    assert b"".join(out).replace(b"\r", b"") == data.replace(b"\n", b"").replace(b"\r", b"")
    assert all(len(line) <= max_line for line in out)
