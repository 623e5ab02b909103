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


def _as_written(stream: bytes, chunks: list[int], max_line: int, lend: bool) -> bytes:
    """What a plain log file holds after STREAM was read in pieces of CHUNKS sizes: with
    LEND, whole lines that need no change go as they lie in a reused buffer, the way
    spawn.PipeReader lends them; without, every piece goes through `feed`."""
    splitter = LineSplitter(max_line=max_line)
    buffer = bytearray(max(chunks, default=1) + 1)
    written: list[bytes] = []
    offset = 0
    for size in chunks:
        piece = stream[offset : offset + size]
        offset += size
        buffer[: len(piece)] = piece
        buffer[len(piece) :] = b"\xee" * (len(buffer) - len(piece))  # stale bytes past SIZE
        end = splitter.plain_end(buffer, len(piece)) if lend else 0
        if end:
            written += [splitter.partial, bytes(buffer[:end])]
            splitter.hold(buffer, end, len(piece))
        else:
            block = splitter.feed(buffer, 0, len(piece))
            written += [] if block is None else [block + b"\n"]
        assert len(splitter.partial) <= max_line  # bounded, either way
    rest = splitter.flush()
    return b"".join(written) + (rest + b"\n" if rest is not None else b"")


@given(
    st.lists(st.sampled_from([b"a", b"bc", b"\n", b"\r", b"defgh"]), max_size=80),
    st.lists(st.integers(1, 24), min_size=1, max_size=30),
    st.integers(1, 12),
)
def test_lent_lines_reach_the_file_exactly_as_fed_ones(
    parts: list[bytes], chunks: list[int], max_line: int
) -> None:
    """Lending is only ever a shortcut: whatever the stream (carriage returns, long
    lines, a partial line held across reads) and however the reads fall, the file gets
    the same bytes as when every read goes through `feed`."""
    stream = b"".join(parts)
    chunks = (chunks * (len(stream) // max(1, sum(chunks)) + 1))[: len(stream) + 1]
    assert _as_written(stream, chunks, max_line, lend=True) == _as_written(
        stream, chunks, max_line, lend=False
    )


def test_plain_end_lends_only_what_needs_no_change() -> None:
    s = LineSplitter(max_line=8)
    assert s.plain_end(b"ab\ncd\nef", 8) == 6  # whole lines end after the second newline
    assert s.plain_end(b"ab\ncd\nef", 5) == 3  # only SIZE bytes count
    assert s.plain_end(b"abc", 3) == 0  # no newline: nothing whole
    assert s.plain_end(b"a\rb\ncd\n", 7) == 0  # a carriage return: shown as a terminal would
    assert s.plain_end(b"abcdefghij\n", 11) == 0  # a line over max_line is cut in pieces
    assert s.plain_end(b"ab\n" + b"x" * 9, 12) == 0  # what is left would be over max_line
    s.feed(b"abcdef")
    assert s.plain_end(b"ghi\n", 4) == 0  # the held partial line makes the first line long
    assert s.plain_end(b"g\n", 2) == 2
