"""Provides KeyBar: the bottom line of keys, fitted to the width and to what has focus.

Textual's Footer shows every binding of the focus chain and cuts the line at the edge:
at 80 columns it ended in `▏^p palettel`, and while typing a search it still offered
`+ Scale`. This bar lists the keys in order of use, leaves out those that do not fit
whole, always ends with the palette, and while the search box has focus shows only
what Enter and Escape do there. Clicking a key runs it, as in the Footer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.widget import Widget
from textual.widgets import Input, Static

KeyItem = tuple[str, str, str]
"""(key as shown, label, action to run when clicked)."""

PALETTE: KeyItem = ("^p", "palette", "command_palette")
SEARCHING: tuple[KeyItem, ...] = (
    ("⏎", "keep search", ""),
    ("esc", "clear search", ""),
)
GAP = 2


class KeyBar(Static):
    """One line: `? Help  q Quit  r Restart … ^p palette`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key"}

    DEFAULT_CSS = """
    KeyBar {
        height: 1;
        background: $footer-background;
        color: $footer-description-foreground;
        padding: 0 1;
        & > .key-bar--key { color: $footer-key-foreground; text-style: bold; }
    }
    """

    def __init__(self, keys: Sequence[KeyItem], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.keys = tuple(keys)
        """Every key that may show, most used first."""
        self._spans: list[tuple[int, int, str]] = []
        """Where each shown key is (start, end, action), for clicks."""
        self._focused: Widget | None = None

    def focus_changed(self, focused: Widget | None) -> None:
        """Show the keys for FOCUSED (the search box has keys of its own)."""
        self._focused = focused
        self.draw()

    def on_resize(self) -> None:
        self.draw()

    def fitted(self, width: int) -> list[KeyItem]:
        """The keys that fit in WIDTH cells whole, the palette last."""
        items = SEARCHING if isinstance(self._focused, Input) else self.keys
        room = width - _width(PALETTE)
        out: list[KeyItem] = []
        for item in items:
            need = _width(item) + GAP
            if need > room:
                continue  # a shorter one further on may still fit
            out.append(item)
            room -= need
        return out

    def draw(self) -> None:
        width = self.content_size.width or self.size.width
        if width <= 0:
            return
        style = self.get_component_rich_style("key-bar--key")
        items = self.fitted(width)
        text = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        for key, label, action in items:
            start = text.cell_len
            text.append(key, style)
            text.append(f" {label}")
            self._spans.append((start, text.cell_len, action))
            text.append(" " * GAP)
        gap = max(1, width - text.cell_len - _width(PALETTE))
        text.append(" " * gap)
        start = text.cell_len
        text.append(PALETTE[0], style)
        text.append(f" {PALETTE[1]}")
        self._spans.append((start, text.cell_len, PALETTE[2]))
        self.update(text, layout=False)

    async def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        for start, end, action in self._spans:
            if start <= offset.x < end and action:
                await self.app.run_action(action)
                return


def _width(item: KeyItem) -> int:
    return len(item[0]) + 1 + len(item[1])
