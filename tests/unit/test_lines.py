"""LineSplitter keeps every line and bounds what it holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from corral.engine.lines import LineSplitter, _has_long_line, count_lines


def feed(splitter: LineSplitter, chunk: bytes) -> list[bytes]:
    """The lines of the block CHUNK completed (none: an empty list)."""
    block = splitter.feed(chunk)
    return [] if block is None else block.split(b"\n")


def flush(splitter: LineSplitter) -> list[bytes]:
    """The held partial line, as a list of at most one."""
    block = splitter.flush()
    return [] if block is None else [block]


def test_partial_lines_wait_for_newline() -> None:
    s = LineSplitter()
    assert feed(s, b"hel") == []
    assert feed(s, b"lo\nwor") == [b"hello"]
    assert s.pending
    assert flush(s) == [b"wor"]
    assert not s.pending


def test_crlf_progress_bars_and_long_lines() -> None:
    s = LineSplitter(max_line=4)
    assert feed(s, b"ab\r\n") == [b"ab"]
    assert feed(s, b"\r1%\r50%\r99%\n") == [b"99%"]  # what the terminal showed
    assert feed(s, b"abcdefghij\n") == [b"abcd", b"efgh", b"ij"]
    assert feed(s, b"123456") == [b"1234"]
    assert flush(s) == [b"56"]


def test_crlf_split_across_chunks() -> None:
    s = LineSplitter()
    assert feed(s, b"abc\r") == []
    assert feed(s, b"\ndef\n") == [b"abc", b"def"]


def test_a_line_of_exactly_whole_pieces_gains_no_empty_line() -> None:
    s = LineSplitter(max_line=4)
    assert feed(s, b"abcdefgh") == [b"abcd"]
    assert feed(s, b"\nxy\n") == [b"efgh", b"xy"]


def test_invalid_utf8_is_kept() -> None:
    assert feed(LineSplitter(), b"\xff\xfeok\n") == [b"\xff\xfeok"]


@given(
    st.lists(st.binary(max_size=50).map(lambda b: b.replace(b"\r", b"")), max_size=30),
    st.integers(1, 16),
)
def test_no_byte_is_lost(chunks: list[bytes], max_line: int) -> None:
    s = LineSplitter(max_line=max_line)
    out: list[bytes] = []
    for chunk in chunks:
        out.extend(feed(s, chunk))
        assert len(s._partial) <= max_line  # bounded memory
    out.extend(flush(s))
    data = b"".join(chunks)
    assert b"".join(out) == data.replace(b"\n", b"")
    assert all(len(line) <= max_line for line in out)
    # line boundaries are kept: every newline ends exactly one line (or a cut piece)
    assert len(out) >= data.count(b"\n")


@given(st.lists(st.integers(0, 40), min_size=1, max_size=40), st.integers(2, 24))
def test_long_line_check_never_misses_one(lengths: list[int], limit: int) -> None:
    """The window check may raise a false alarm, but never misses a line over LIMIT."""
    block = b"\n".join(b"x" * n for n in lengths)
    if max(lengths) > limit:
        assert _has_long_line(block, limit)


@given(
    st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"")), max_size=20),
    st.integers(1, 64),
)
def test_blocks_hold_every_line_cut_to_size(chunks: list[bytes], max_line: int) -> None:
    """Blocks, split, then the flush: each line of the stream, in pieces of max_line."""
    splitter = LineSplitter(max_line=max_line)
    out: list[bytes] = []
    for chunk in chunks:
        block = splitter.feed(chunk)
        out.extend(block.split(b"\n") if block is not None else [])
    out.extend(flush(splitter))
    *complete, last = b"".join(chunks).split(b"\n")
    expected = [
        line[i : i + max_line] if line else line
        for line in [*complete, *([last] if last else [])]
        for i in range(0, max(len(line), 1), max_line)
    ]
    assert out == expected


@given(st.binary(max_size=300))
def test_count_lines_is_the_newlines_plus_one(block: bytes) -> None:
    # A block holds whole lines joined by newlines, so it holds one more line than
    # newlines; the fast count must agree with the obvious one on any bytes.
    assert count_lines(block) == block.count(b"\n") + 1
