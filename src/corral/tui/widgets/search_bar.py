"""Provides SearchBar: the `/` input that filters the log tail as you type."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class SearchBar(Input):
    """Hidden until `/`; Enter keeps the search and returns to the log, Escape clears it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Clear search", show=True),
    ]

    DEFAULT_CSS = """
    SearchBar { dock: bottom; display: none; border: tall $accent; height: 3; }
    SearchBar.-open { display: block; }
    """
    """Docked under the tail; shown only while searching or while a search is active."""

    class Closed(Message):
        """The user finished with the search box (Enter keeps the query, Escape clears it)."""

        def __init__(self, bar: SearchBar, keep: bool) -> None:
            super().__init__()
            self.bar = bar
            self.keep = keep

        @property
        def control(self) -> SearchBar:
            return self.bar

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="search the logs (Enter: keep, Esc: clear)", id=id)

    def open(self) -> None:
        """Show the box and put the cursor in it."""
        self.add_class("-open")
        self.focus()

    def action_cancel(self) -> None:
        self.value = ""
        self.remove_class("-open")
        self.post_message(self.Closed(self, keep=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.value:
            self.remove_class("-open")
        self.post_message(self.Closed(self, keep=bool(self.value)))
