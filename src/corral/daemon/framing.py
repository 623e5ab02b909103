"""Provides LineReader: a connection's request lines, each read with its own length limit.

asyncio's StreamReader takes one limit for the life of a connection, so a client that has
not even said hello could make the daemon buffer a whole request's worth (4 MiB) of
garbage. Here the hello is read with a 4 KiB limit and each request with the protocol's,
and the buffer never holds more than the current limit plus one read.
"""

from __future__ import annotations

import asyncio

from corral.daemon import protocol
from corral.daemon.protocol import ErrorCode, ProtocolError

CHUNK = 64 * 1024
"""Bytes asked of the socket at a time (and the StreamReader's own limit)."""


class LineReader:
    """Newline-delimited lines from READER, none longer than the limit of the call."""

    __slots__ = ("_buffer", "_reader", "_scanned", "peak")

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buffer = bytearray()
        self.peak = 0
        """The most this connection ever had buffered (a big one is worth giving back)."""
        self._scanned = 0
        """How much of the buffer is known to hold no newline (a long line is scanned once)."""

    async def line(self, limit: int) -> bytes | None:
        """The next non-blank line (with its newline); None at EOF (a partial last line
        means the client left); ProtocolError(line_too_long, fatal) past LIMIT bytes."""
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end < 0:
                self._scanned = len(self._buffer)
                if self._scanned > limit:
                    self._buffer = bytearray()  # give the memory back now, not at close
                    raise _too_long(limit)
                chunk = await self._reader.read(CHUNK)
                if not chunk:
                    return None
                self._buffer += chunk
                self.peak = max(self.peak, len(self._buffer))
                continue
            if end >= limit:
                self._buffer = bytearray()
                raise _too_long(limit)
            line = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            self._scanned = 0
            if line.strip():
                return line

    def drop_buffer(self) -> None:
        """Forget what was read ahead (a subscribed client's input is ignored)."""
        self._buffer = bytearray()
        self._scanned = 0


def _too_long(limit: int) -> ProtocolError:
    what = "a hello" if limit == protocol.MAX_HELLO else "lines"
    return ProtocolError(
        ErrorCode.LINE_TOO_LONG, f"{what} may be at most {limit} bytes long", fatal=True
    )
