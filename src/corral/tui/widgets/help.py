"""Provides HelpScreen: every key, what it does, and where the command palette is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """The keys, in a box over the main screen; any of Escape, `q` or `?` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,enter", "close", "Close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > VerticalScroll {
        width: 76; max-width: 100%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen #keys { width: 100%; }
    """
    """A centred box that scrolls when the terminal is too short for it."""

    def __init__(self, keys: Sequence[tuple[str, str]], source: str) -> None:
        super().__init__()
        self.keys = list(keys)
        """(key, what it does) pairs, in the order shown."""
        self.source = source

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        for key, text in self.keys:
            table.add_row(Text(key), Text(text))
        where = (
            "Apps run inside this corral up: quitting stops them."
            if self.source == "up"
            else "Attached to the daemon: quitting leaves the apps running."
        )
        with VerticalScroll() as scroll:
            scroll.border_title = "corral · keys"
            scroll.border_subtitle = "Esc to close"
            yield Static(table, id="keys")
            yield Static(
                Text(
                    f"\n{where}\nCtrl+P opens the command palette: every action, by name. "
                    "Drag over log text to select it; Ctrl+C copies it.",
                    style="italic",
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)
