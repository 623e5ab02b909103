"""Provides `clean`: app output made safe to show in the log tail.

App output is whatever a program wrote: ANSI colour codes, cursor moves, progress bars
redrawn with `\\r`, `[brackets]` that look like markup, lines of megabytes. Everything
here turns it into plain, bounded text before any widget sees it, so no app can break
the layout or stall a frame. No Textual here: the rules are unit-tested on their own.
"""

from __future__ import annotations

import re

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


def clean(text: str) -> str:
    """TEXT as a terminal would leave it on one line, without any control code.

    A `\\r` moves the cursor back to the start of the line, so only what was written
    after the last one stays visible (a progress bar shows its latest state); a `\\r`
    at the very end is a CRLF line ending and is simply dropped.
    """
    if text.isprintable():  # the common line: no control code of any kind (fast, in C)
        return text if len(text) <= MAX_LINE_CHARS else _cut(text)
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
    return text if len(text) <= MAX_LINE_CHARS else _cut(text)


def _cut(text: str) -> str:
    return f"{text[:MAX_LINE_CHARS]}… (+{len(text) - MAX_LINE_CHARS} chars)"
