"""Provides LogRecord, one line of the tail as data, and `layout`, its text for the screen.

The tail keeps what a line *is* (when it was read, which process wrote it, on which
stream, the text) and formats it only when drawn: a search, a colour or a history rule
then never needs to parse a display string back by column. No Textual here.
"""

from __future__ import annotations

import time
from typing import Literal, NamedTuple

Kind = Literal["out", "err", "info", "warn", "error", "rule"]
"""A line's origin: an app's stdout or stderr, corral's own message by level, or the rule
drawn between lines read back from the files and live ones."""

Role = Literal["stamp", "app", "err", "info", "warn", "error", "earlier"]
"""What a span of a laid-out line is, for the widget to pick a style."""

MARKS: dict[Kind, str] = {
    "out": "|",
    "err": "!",
    "info": "»",
    "warn": "▲",
    "error": "✖",
    "rule": "",
}
"""The column after the process name: stderr and corral's own messages stand out even
without colour (NO_COLOR, a copied screen)."""

LEVEL_ROLE: dict[Kind, Role] = {"info": "info", "warn": "warn", "error": "error"}
"""corral's own messages are coloured from the mark to the end, by level."""

STAMP_WIDTH = 8
"""`HH:MM:SS`; a line whose time is not known gets as many blanks."""

RULE_TEXT = "earlier lines, read back from the log files ↑ · live ↓"


class LogRecord(NamedTuple):
    """One line of the tail (a named tuple: immutable, and made for every line a
    chatty app writes, three times faster than a frozen dataclass)."""

    ts: float | None
    """When the line was read (or the stamp the file gave it); None: not known."""
    app: str
    """The app's name; empty for corral's own messages."""
    id: int | None
    """The process id; None for corral's own messages and for a merged file's lines,
    which do not say which instance wrote them."""
    kind: Kind
    text: str
    """Already cleaned (`logtext.clean`): one line, no control codes."""
    earlier: bool = False
    """Read back from the files at start-up rather than received live."""

    def who(self) -> str:
        """`web[0]`, `web` when the instance is not known, `[corral]` for corral itself."""
        if not self.app:
            return "[corral]"
        return self.app if self.id is None else f"{self.app}[{self.id}]"

    def matches(self, needle: str) -> bool:
        """Whether NEEDLE (lower case) is in the text or the process's name."""
        return needle in self.text.lower() or needle in self.who().lower()


RULE = LogRecord(None, "", None, "rule", RULE_TEXT)
"""The one rule record: where the lines read from the files end and live ones begin."""


class Stamper:
    """HH:MM:SS of a timestamp, formatted once per second however many lines share it."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, ts: float) -> str:
        second = int(ts)
        if second != self._second:
            self._second = second
            self._text = time.strftime("%H:%M:%S", time.localtime(second))
        return self._text


Span = tuple[int, int, Role]


def layout(record: LogRecord, stamper: Stamper) -> tuple[str, list[Span]]:
    """RECORD as one line of text, `12:00:01 web[0] | listening`, and its coloured spans.

    A line read back without a time is dimmed as a whole: it is old, and how old is not
    known. The rule has no layout of its own (the widget draws it to the width).
    """
    if record.kind == "rule":
        return record.text, []
    stamp = stamper(record.ts) if record.ts is not None else " " * STAMP_WIDTH
    who = record.who()
    mark = MARKS[record.kind]
    head = f"{stamp} {who} {mark} "
    line = head + record.text
    if record.earlier and record.ts is None:
        return line, [(0, len(line), "earlier")]
    name_end = STAMP_WIDTH + 1 + len(who)
    spans: list[Span] = [(0, STAMP_WIDTH, "stamp"), (STAMP_WIDTH + 1, name_end, "app")]
    mark_at = name_end + 1
    if record.kind == "err":
        spans.append((mark_at, mark_at + 1, "err"))
    elif record.kind in LEVEL_ROLE:
        spans.append((mark_at, len(line), LEVEL_ROLE[record.kind]))
    return line, spans
