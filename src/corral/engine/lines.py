"""Provides LineSplitter: bytes from a pipe in, whole lines out, nothing dropped.

Built for throughput: a chunk is split with one C-level `split`, not byte by byte, so
a child printing a million short lines a second is not slowed by its supervisor.
Partial lines are held until their newline, or handed out by `flush` after a short idle
(a prompt without a newline still shows). Lines longer than MAX_LINE are cut into
pieces, never dropped. A `\\r` ends nothing: a line keeps what a terminal would have
shown, the text after its last carriage return (a progress bar's final state).
"""

from __future__ import annotations

MAX_LINE = 64 * 1024
"""Longest line handed out whole; longer ones come out in pieces of this size."""


class LineSplitter:
    """Splits a byte stream into lines; memory held is at most MAX_LINE bytes."""

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._max = max_line
        self._partial = b""

    @property
    def pending(self) -> bool:
        """True when a partial line is waiting for its newline."""
        return bool(self._partial)

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add CHUNK; return the complete lines it finished, without their newlines."""
        if self._partial:
            chunk = self._partial + chunk
        lines = chunk.split(b"\n")
        rest = lines.pop()
        while len(rest) >= self._max:
            lines.append(rest[: self._max])
            rest = rest[self._max :]
        self._partial = rest
        if not lines:
            return lines
        if b"\r" in chunk:
            lines = [_as_shown(line) for line in lines]
        if max(map(len, lines)) > self._max:
            lines = [piece for line in lines for piece in self._cut(line)]
        return lines

    def flush(self) -> list[bytes]:
        """Hand out the partial line, if any (on idle or end of stream)."""
        if not self._partial:
            return []
        line, self._partial = self._partial, b""
        return [_as_shown(line)] if b"\r" in line else [line]

    def _cut(self, line: bytes) -> list[bytes]:
        if len(line) <= self._max:
            return [line]
        return [line[i : i + self._max] for i in range(0, len(line), self._max)]


def _as_shown(line: bytes) -> bytes:
    """What a terminal shows of LINE: the last non-empty text between carriage returns."""
    if b"\r" not in line:
        return line
    for segment in reversed(line.split(b"\r")):
        if segment:
            return segment
    return b""
