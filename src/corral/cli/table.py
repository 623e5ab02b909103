"""Provides `render`: the process table of `corral list`, in plain ANSI (no Rich: import cost).

    id  name    namespace  mode  pid    uptime  ↺  status   cpu  mem     user  watching
    0   web     default    fork  4242   5m      0  online   0%   12.3M   root  disabled

Status is coloured on a terminal (never when piped or under NO_COLOR). Terminals narrower
than 100 columns get PM2's condensed columns; piped output after an action is compact.
"""

from __future__ import annotations

import os

from corral.figures import size_text, uptime_text

# Typing names only (typing costs ~4 ms to import; mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import IO, Any

Row = dict[str, "Any"]

GREEN, YELLOW, RED, GREY, BOLD, RESET = (
    "\x1b[32m",
    "\x1b[33m",
    "\x1b[31m",
    "\x1b[90m",
    "\x1b[1m",
    "\x1b[0m",
)
STATUS_COLOUR = {
    "online": GREEN,
    "launching": YELLOW,
    "stopping": YELLOW,
    "waiting restart": YELLOW,
    "stopped": GREY,
    "errored": RED,
    "waiting": YELLOW,
    "completed": GREEN,
}
NARROW_COLUMNS = 100
"""Below this width the table drops namespace, pid, uptime, user and watching."""


def uptime(ms: int | float) -> str:
    """PM2's style: 3s, 5m, 2h, 4D, 2M, 1Y (figures.uptime_text, from milliseconds)."""
    return uptime_text(ms / 1000)


memory = size_text
"""212M, 1.5G: the TUI's text and the config's units (figures.size_text)."""


def _running(row: Row) -> bool:
    return row.get("status") == "online"


Column = tuple[str, str, "Callable[[Row], str]"]
COLUMNS: tuple[Column, ...] = (
    ("id", "id", lambda r: str(r["id"])),
    ("name", "name", lambda r: str(r["name"])),
    ("namespace", "namespace", lambda r: str(r.get("namespace", ""))),
    ("mode", "mode", lambda r: str(r.get("exec_mode", "fork"))),
    ("pid", "pid", lambda r: str(r["pid"]) if r.get("pid") else "0"),
    ("uptime", "uptime", lambda r: uptime(r.get("uptime_ms", 0)) if _running(r) else "0"),
    ("restarts", "↺", lambda r: str(r.get("restarts", 0))),
    ("status", "status", lambda r: str(r.get("status", ""))),
    ("cpu", "cpu", lambda r: f"{r.get('cpu', 0):.0f}%"),
    ("mem", "mem", lambda r: memory(r.get("memory", 0))),
    ("user", "user", lambda r: str(r.get("user", ""))),
    ("watching", "watching", lambda r: "enabled" if r.get("watch") else "disabled"),
)
NARROW = ("id", "name", "mode", "restarts", "status", "cpu", "mem")
COMPACT = ("id", "name", "status", "pid", "restarts")


def width_of(stream: IO[str]) -> int | None:
    """The terminal's width, or None when STREAM is not a terminal."""
    try:
        if not stream.isatty():
            return None
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return None


def render(rows: Sequence[Row], stream: IO[str], *, compact_when_piped: bool = False) -> str:
    """The table for ROWS as STREAM should get it (ends with a newline)."""
    width = width_of(stream)
    tty = width is not None
    colour = tty and not os.environ.get("NO_COLOR")
    if width is not None:
        keys: Sequence[str] = NARROW if width < NARROW_COLUMNS else [c[0] for c in COLUMNS]
    else:
        keys = COMPACT if compact_when_piped else [c[0] for c in COLUMNS]
    columns = [c for c in COLUMNS if c[0] in keys]
    heads = [head if (tty or key != "restarts") else "restarts" for key, head, _ in columns]
    cells = [[fmt(row) for _key, _head, fmt in columns] for row in rows]
    widths = [max([len(h), *(len(line[i]) for line in cells)]) for i, h in enumerate(heads)]
    lines = [_line(heads, widths, BOLD if colour else "")]
    status_at = next((i for i, c in enumerate(columns) if c[0] == "status"), -1)
    for line in cells:
        tint = STATUS_COLOUR.get(line[status_at], "") if colour and status_at >= 0 else ""
        lines.append(_line(line, widths, "", tint_at=status_at, tint=tint))
    lines += waiting_lines(rows)
    return "\n".join(lines) + "\n"


def waiting(row: Row) -> str:
    """`waiting: db ready, migrate exited 1` for a process waiting for its dependencies."""
    return "waiting: " + ", ".join(row.get("waiting_for") or ())


def waiting_lines(rows: Sequence[Row]) -> list[str]:
    """Under the table, what each waiting process waits for (the status column stays narrow)."""
    return [
        f"{row['name']} [{row['id']}] {waiting(row)}"
        for row in rows
        if row.get("status") == "waiting" and row.get("waiting_for")
    ]


def _line(values: Sequence[str], widths: Sequence[int], style: str, **kw: Any) -> str:
    tint_at, tint = kw.get("tint_at", -1), kw.get("tint", "")
    parts = []
    for i, (value, size) in enumerate(zip(values, widths, strict=True)):
        cell = value.ljust(size)
        if i == tint_at and tint:
            cell = f"{tint}{cell}{RESET}"
        parts.append(cell)
    text = "  ".join(parts).rstrip()
    return f"{style}{text}{RESET}" if style else text
