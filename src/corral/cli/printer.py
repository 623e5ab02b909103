"""Provides EventPrinter: the merged, timestamped stream of every app, as text or JSON.

`up --no-ui` prints through it. Text lines look like

    2026-11-27 21:40:01.123 web[0] | listening on :8000     (stdout)
    2026-11-27 21:40:01.124 web[0] ! warning: slow query    (stderr)
    2026-11-27 21:40:01.200 [corral] web[0] started (pid 4242)

Colour per app on a terminal, never when piped or when NO_COLOR is set.
"""

from __future__ import annotations

import json
import os
import time
from typing import IO

from corral.engine.events import Event, Lagged, Lifecycle, LogLines, StateChanged

PALETTE = (36, 32, 35, 33, 34, 96, 92, 95, 93, 94)
"""ANSI colours given to apps in turn (cyan, green, magenta, yellow, blue, bright ones)."""
RED, DIM, BOLD, RESET = "\x1b[31m", "\x1b[2m", "\x1b[1m", "\x1b[0m"
LEVEL_COLOUR = {"info": DIM, "warn": "\x1b[33m", "error": "\x1b[1;31m"}


def use_colour(stream: IO[str]) -> bool:
    """Colour only on a terminal, and never under NO_COLOR (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def stamp(ts: float) -> str:
    """Local time with milliseconds: 2026-11-27 21:40:01.123."""
    whole = time.localtime(ts)
    return time.strftime("%Y-%m-%d %H:%M:%S", whole) + f".{int(ts % 1 * 1000):03d}"


def iso(ts: float) -> str:
    """ISO 8601 with milliseconds and the local UTC offset, for JSON consumers."""
    offset = time.strftime("%z", time.localtime(ts))
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ts))
        + f".{int(ts % 1 * 1000):03d}{offset[:3]}:{offset[3:]}"
    )


class EventPrinter:
    """Writes each event it is given as one line (state changes are implied by lifecycle)."""

    def __init__(self, out: IO[str], *, json_lines: bool = False, colour: bool | None = None):
        self.out = out
        self.json = json_lines
        self.colour = use_colour(out) if colour is None else colour

    def __call__(self, event: Event) -> None:
        lines = self.format(event)
        if lines:
            self.out.write("\n".join(lines) + "\n")

    def format(self, event: Event) -> list[str]:
        """The printed lines for EVENT (none for events this view leaves out)."""
        if isinstance(event, StateChanged):
            return []
        if self.json:
            return [json.dumps(obj, ensure_ascii=False) for obj in self._as_json(event)]
        if isinstance(event, LogLines):
            who = f"{event.name}[{event.id}]"
            err = event.stream == "err"
            if self.colour:
                mark = f"{RED}!{RESET}" if err else "|"
                head = f"{DIM}{stamp(event.ts)}{RESET} {_app_colour(event.id)}{who}{RESET} {mark} "
            else:
                head = f"{stamp(event.ts)} {who} {'!' if err else '|'} "
            return [head + text for text in event.texts()]
        if isinstance(event, Lifecycle):
            who = f"{event.name}[{event.id}]"
            if self.colour:
                tone = LEVEL_COLOUR[event.level]
                return [
                    f"{DIM}{stamp(event.ts)}{RESET} {BOLD}[corral]{RESET} "
                    f"{_app_colour(event.id)}{who}{RESET} {tone}{event.message}{RESET}"
                ]
            return [f"{stamp(event.ts)} [corral] {who} {event.message}"]
        if isinstance(event, Lagged):
            return [f"{stamp(event.ts)} [corral] {event.message}"]
        return []

    @staticmethod
    def _as_json(event: Event) -> list[dict[str, object]]:
        if isinstance(event, LogLines):
            when = iso(event.ts)
            return [
                {
                    "timestamp": when,
                    "type": event.stream,
                    "app_name": event.name,
                    "process_id": event.id,
                    "message": text,
                }
                for text in event.texts()
            ]
        if isinstance(event, Lifecycle):
            return [
                {
                    "timestamp": iso(event.ts),
                    "type": "corral",
                    "level": event.level,
                    "app_name": event.name,
                    "process_id": event.id,
                    "message": event.message,
                }
            ]
        if isinstance(event, Lagged):
            return [
                {
                    "timestamp": iso(event.ts),
                    "type": "lagged",
                    "missed_lines": event.lines,
                    "missed_events": event.events,
                    "message": event.message,
                }
            ]
        return []


def _app_colour(pm_id: int) -> str:
    return f"\x1b[{PALETTE[pm_id % len(PALETTE)]}m"
