"""Provides CorralApp, the terminal UI of corral, and `make_app`, the one way to build it.

LiveApp (base.py) keeps the widgets live; this module adds what the user does: the keys,
the command palette (every key's action is there by name), the details, help and
confirm screens, and quitting, which for `corral up` means stopping the apps first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import ClassVar

from textual import on
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from corral.engine.api import SupervisorAPI
from corral.tui.base import HISTORY_LINES, Dirty, LiveApp, Source
from corral.tui.widgets.compact import CompactList
from corral.tui.widgets.confirm import ConfirmScreen
from corral.tui.widgets.details import DetailsScreen
from corral.tui.widgets.help import HelpScreen
from corral.tui.widgets.key_bar import KeyItem
from corral.tui.widgets.process_table import ProcessTable

DOUBLE_INTERRUPT_S = 2.0
"""A second Ctrl-C within this time quits at once."""

KEYS: tuple[tuple[str, str, str, str], ...] = (
    # key, action, footer label ("" keeps it out of the footer), help / palette text
    ("question_mark", "help", "Help", "This help"),
    ("q", "quit_app", "Quit", "Quit (corral up asks, then stops the apps)"),
    ("r", "restart", "Restart", "Restart the selected app (every instance of a cluster row)"),
    ("s", "stop", "Stop", "Stop the selected app"),
    ("S", "start", "Start", "Start the selected app"),
    ("l", "reload", "Reload", "Reload the selected app"),
    ("d", "delete", "Delete", "Delete the selected app (asks first)"),
    ("plus", "scale(1)", "Scale", "Add an instance of the selected app"),
    ("minus", "scale(-1)", "", "Remove the newest instance of the selected app"),
    ("slash", "search", "Search", "Search the logs (Enter keeps the search, Esc clears it)"),
    (
        "f",
        "follow",
        "Follow",
        "Follow the newest log lines on/off (scrolling up pauses; End follows)",
    ),
    ("a", "all_logs", "All/one", "Show every app's logs, or only the selected app's"),
    ("w", "wrap", "Wrap", "Wrap long log lines on/off"),
    (
        "c",
        "compact",
        "Compact",
        "One line per app, or panes (automatic: compact when panes do not fit)",
    ),
    ("enter", "details", "Details", "Details: config, log files, restart history, env, cron"),
)
"""Every key, once: bindings, the footer, the help screen and the palette all come from here."""

CHANGES = frozenset({"restart", "stop", "start", "reload", "delete", "scale(1)", "scale(-1)"})
"""The actions that change apps: refused, and marked so, in a read-only monitor."""
READ_ONLY_NOTE = " (disabled: read-only monitor)"

FOOTER_FIRST = {
    action: rank
    for rank, action in enumerate(("help", "quit_app", "restart", "stop", "search", "follow"))
}
"""What the bottom line keeps when it cannot show every key (80 columns): the rest follow
in KEYS order, and every key is in the help and the palette."""

SHOWN = {"+": "plus", "-": "minus", "/": "slash", "?": "question_mark", "⏎": "enter"}


def _display(key: str) -> str:
    return next((shown for shown, name in SHOWN.items() if name == key), key)


class CorralApp(LiveApp):
    """The process table, the app panes, the merged log tail, and the keys to drive them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(key, action, label or text, key_display=_display(key), show=bool(label))
            for key, action, label, text in KEYS
        ),
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True),
    ]

    _interrupted_at = 0.0
    double_interrupt_s = DOUBLE_INTERRUPT_S
    """A second Ctrl-C within this time quits (tests widen it: a loaded machine is slow)."""
    """When Ctrl-C was last pressed (monotonic), to tell a double press."""
    read_only = False
    """Set for a wall display (`monit --web --read-only`): every key that changes an app is
    refused with a notice, and the footer, help and palette say so."""

    def key_items(self) -> list[KeyItem]:
        shown = [
            (_display(key), label, action)
            for key, action, label, _ in KEYS
            if label and not (self.read_only and action in CHANGES)
        ]
        return sorted(shown, key=lambda item: FOOTER_FIRST.get(item[2], len(FOOTER_FIRST)))

    # ------------------------------------------------------------ app actions

    def _refused(self, verb: str) -> bool:
        """True (after saying so) when this monitor may not change apps."""
        if self.read_only:
            self.notify(f"read-only monitor: {verb} is disabled", severity="warning")
        return self.read_only

    def _target(self, verb: str) -> tuple[str, str] | None:
        if self._refused(verb):
            return None
        row = self._row()
        if row is None:
            self.notify(f"nothing to {verb}: no app selected", severity="warning")
            return None
        label = row.name if row.group or not row.in_group else f"{row.name}[{row.target}]"
        return row.target, label

    def action_restart(self) -> None:
        if found := self._target("restart"):
            self.run_command(f"restart {found[1]}", self.api.restart(found[0]))

    def action_stop(self) -> None:
        if found := self._target("stop"):
            self.run_command(f"stop {found[1]}", self.api.stop(found[0]))

    def action_start(self) -> None:
        if found := self._target("start"):
            self.run_command(f"start {found[1]}", self.api.start(found[0]))

    def action_reload(self) -> None:
        if found := self._target("reload"):
            self.run_command(f"reload {found[1]}", self.api.reload(found[0]))

    def action_delete(self) -> None:
        found = self._target("delete")
        if found is None:
            return
        target, label = found
        count = len(self._selected_ids())
        what = f"{label} ({count} processes)" if count > 1 else label

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_command(f"delete {label}", self.api.delete(target))

        self.push_screen(ConfirmScreen(f"Delete {what}? Its log files stay."), answered)

    def action_scale(self, step: int) -> None:
        if self._refused("scale"):
            return
        row = self._row()
        if row is None:
            self.notify("nothing to scale: no app selected", severity="warning")
            return
        now = len(self.feed.board.apps().get(row.name, []))
        wanted = max(1, now + step)
        if wanted == now:
            self.notify(f"{row.name} keeps 1 instance (use d to delete it)")
            return
        self.notify(f"scale {row.name}: {now} → {wanted}", timeout=2)
        self.run_command(f"scale {row.name}", self.api.scale(row.name, wanted))

    # ------------------------------------------------------------ view actions

    def action_search(self) -> None:
        self.search.open()

    def action_follow(self) -> None:
        self.follow(not self.feed.view.follow)

    def action_wrap(self) -> None:
        self.tail.wrap = not self.tail.wrap
        self._title_tail()

    def action_compact(self) -> None:
        self.compact_choice = not self.compact_mode
        self._mark(Dirty.TABLE | Dirty.PANES)

    def action_all_logs(self) -> None:
        if self.feed.view.ids is None:
            self.show_only(frozenset(self._selected_ids()))
        else:
            self.show_only(None)

    def action_details(self) -> None:
        row = self._row()
        if row is not None:
            self.push_screen(DetailsScreen(self.feed.board, row.ids, self.home, self.clock))

    @on(ProcessTable.RowSelected, "#table")
    @on(CompactList.RowSelected)
    def _row_selected(self) -> None:
        self.action_details()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        if not self.is_screen_installed("help"):
            # Installed, so it is built once: opening it again costs only a repaint.
            # Help and quit lead the footer (80 columns cut it); here they close the list.
            keys = [
                (_display(key), text + (READ_ONLY_NOTE if self.read_only and a in CHANGES else ""))
                for key, a, _, text in (*KEYS[2:], *KEYS[:2])
            ]
            keys += [("tab", "Move focus: table, log, search"), ("ctrl+p", "Command palette")]
            self.install_screen(HelpScreen(keys, self.source), "help")
        self.push_screen("help")

    def action_copy_logs(self) -> None:
        """Copy what the log tail holds (the keyboard way to get log text out)."""
        lines = self.tail.lines
        self.copy_to_clipboard("\n".join(lines))
        self.notify(f"copied {len(lines)} log lines")

    # -------------------------------------------------------------- quitting

    def action_quit_app(self) -> None:
        running = self.feed.board.active()
        if self.source != "up" or running == 0:
            self.exit(0)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._stop_then_exit(running)

        plural = "app" if running == 1 else "apps"
        self.push_screen(ConfirmScreen(f"Stop {running} {plural} and quit?"), answered)

    def _stop_then_exit(self, running: int) -> None:
        self.header.notice = f"stopping {running} apps…"
        self._mark(Dirty.HEADER)

        async def stop() -> None:
            try:
                await self.api.stop("all")
            finally:
                self.exit(0)

        self.run_worker(stop(), group="quit", exclusive=True, exit_on_error=False)

    def action_interrupt(self) -> None:
        """Ctrl-C: copy a selection if there is one; otherwise quit (twice, for `up`)."""
        selected = self.screen.get_selected_text()
        if selected:
            self.copy_to_clipboard(selected)
            return
        now = time.monotonic()
        if self.source != "up" or now - self._interrupted_at < self.double_interrupt_s:
            self.exit(0)  # `corral up` then stops the apps gracefully, outside the UI
            return
        self._interrupted_at = now
        self.notify("Press Ctrl-C again to stop every app and quit", title="Quit?", timeout=2)

    # ------------------------------------------------------------------ palette

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for key, action, _, text in KEYS:
            title = text.split(" (")[0]
            if self.read_only and action in CHANGES:
                title += READ_ONLY_NOTE
            yield SystemCommand(title, f"key: {_display(key)}", self._palette(action))
        yield SystemCommand("Copy the log view", "copy the tail's lines", self.action_copy_logs)
        for command in super().get_system_commands(screen):
            if command.title != "Quit":  # ours asks first (and stops the apps for `up`)
                yield command

    def _palette(self, action: str) -> Callable[[], object]:
        async def run() -> None:
            await self.run_action(action)

        return run


def make_app(
    api: SupervisorAPI,
    *,
    source: Source = "monit",
    home: str = "",
    clock: Callable[[], float] = time.time,
    theme: str | None = None,
    history_lines: int = HISTORY_LINES,
    read_only: bool = False,
) -> CorralApp:
    """Build the TUI around API: the in-process engine, the daemon client, or a test's fake."""
    app = CorralApp(api, source=source, home=home, clock=clock, history_lines=history_lines)
    app.read_only = read_only
    if theme:
        app.theme = theme
    return app
