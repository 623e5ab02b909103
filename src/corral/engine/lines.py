"""Provides LineSplitter: bytes from a pipe in, whole lines out, nothing dropped.

Partial lines are held until their newline, or handed out by `flush` after a short idle
(a prompt without a newline still shows). Lines longer than MAX_LINE are cut into pieces,
never dropped. Bytes are kept exactly; decoding is the reader's business.
"""

from __future__ import annotations

MAX_LINE = 64 * 1024
"""Longest line handed out whole; longer ones come out in pieces of this size."""


class LineSplitter:
    """Splits a byte stream into lines; memory held is at most MAX_LINE bytes."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._max = max_line
        self._partial = bytearray()

    @property
    def pending(self) -> bool:
        """True when a partial line is waiting for its newline."""
        return bool(self._partial)

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add CHUNK; return the complete lines it finished, without their newlines."""
        lines: list[bytes] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            piece = chunk[start:end]
            if self._partial:
                self._partial += piece
                piece = bytes(self._partial)
                self._partial.clear()
            lines.extend(self._cut(piece))
            start = end + 1
        if start < len(chunk):
            self._partial += chunk[start:]
            while len(self._partial) >= self._max:
                lines.append(bytes(self._partial[: self._max]))
                del self._partial[: self._max]
        return lines

    def flush(self) -> list[bytes]:
        """Hand out the partial line, if any (on idle or end of stream)."""
        if not self._partial:
            return []
        line = bytes(self._partial)
        self._partial.clear()
        return [line]

    def _cut(self, line: bytes) -> list[bytes]:
        if len(line) <= self._max:
            return [line.removesuffix(b"\r")]
        return [line[i : i + self._max] for i in range(0, len(line), self._max)]
