"""Provides the text of the log tail: app output made safe to show, and one line per entry.

App output is whatever a program wrote: ANSI colour codes, cursor moves, progress bars
redrawn with `\\r`, `[brackets]` that look like markup, lines of megabytes. Everything
here turns it into plain, bounded text before any widget sees it, so no app can break
the layout or stall a frame. No Textual here: the rules are unit-tested on their own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

MAX_LINE_CHARS = 2000
"""Longer lines are cut (the files keep them whole): a frame never lays out megabytes."""

_ANSI = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]              # CSI: colours, cursor moves, erase
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?  # OSC: titles, hyperlinks (BEL or ST ends it)
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?       # DCS, SOS, PM, APC strings
    | \x1b[@-Z\\-_]                       # two-byte escapes
    | \x1b                                # a lone ESC left over
    | \x9b[0-?]*[ -/]*[@-~]              # 8-bit CSI
    """,
    re.VERBOSE,
)
# Controls that are neither tab nor ESC (handled above): DEL, C1, and the Unicode line
# and paragraph separators, which str.splitlines (and so a Log widget) would break on.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f\u2028\u2029]")

MARK_OUT, MARK_ERR = "|", "!"
MARK_INFO, MARK_WARN, MARK_ERROR = "»", "▲", "✖"
LEVEL_MARK = {"info": MARK_INFO, "warn": MARK_WARN, "error": MARK_ERROR}


def clean(text: str) -> str:
    """TEXT as a terminal would leave it on one line, without any control code.

    A `\\r` moves the cursor back to the start of the line, so only what was written
    after the last one stays visible (a progress bar shows its latest state); a `\\r`
    at the very end is a CRLF line ending and is simply dropped.
    """
    if "\r" in text:
        text = text.rstrip("\r")
        cut = text.rfind("\r")
        if cut >= 0:
            text = text[cut + 1 :]
    if "\x1b" in text or "\x9b" in text:
        text = _ANSI.sub("", text)
    if "\t" in text:
        text = text.expandtabs(4)
    text = _CONTROLS.sub("", text)
    if len(text) > MAX_LINE_CHARS:
        text = f"{text[:MAX_LINE_CHARS]}… (+{len(text) - MAX_LINE_CHARS} chars)"
    return text


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


HISTORY_STAMP = " " * 8
"""Lines read back from the files carry no time of their own (unless the app wrote one)."""


def who(name: str, pm_id: int) -> str:
    """The prefix that names a process in the tail: `web[0]`."""
    return f"{name}[{pm_id}]"


def format_lines(stamp: str, name: str, pm_id: int, mark: str, texts: Iterable[str]) -> list[str]:
    """One display line per text: `12:00:01 web[0] | listening on :8000`."""
    head = f"{stamp} {who(name, pm_id)} {mark} "
    return [head + clean(text) for text in texts]


def split_line(line: str) -> tuple[int, int, str] | None:
    """Where the name ends and which mark follows it, for colouring: (name_end, mark_at, mark).

    The name starts at column 9 (after the stamp and a space); None if LINE is not ours.
    """
    end = line.find("] ", 9)
    if end < 0 or len(line) < end + 3:
        return None
    return end + 1, end + 2, line[end + 2]
