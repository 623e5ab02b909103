"""Provides PaneArea: the app panes, a grid of every process when there is room.

When every pane fits in the area's height they are all shown (the selected one
highlighted); when not, only the panes of the selected row are. Panes are mounted and
removed to match, never rebuilt: a sparkline keeps its widget while its data moves.
"""

from __future__ import annotations

from textual.containers import VerticalScroll

from corral.tui.colours import Colours
from corral.tui.messages import Relayout
from corral.tui.model import Board
from corral.tui.widgets.app_pane import HEIGHT, AppPane, pane_height


class PaneArea(VerticalScroll, can_focus=False):
    """Holds AppPanes; `show` decides which."""

    DEFAULT_CSS = """
    PaneArea { height: 1fr; scrollbar-size-vertical: 1; }
    """
    """The app's stylesheet sets the width and, on narrow screens, the height."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._selected: tuple[int, ...] = ()
        self._shown: list[int] = []
        self._tall = True
        """Whether the shown panes have room for their memory limit's row."""

    def on_resize(self) -> None:
        # How many panes fit depends on the height: ask for a redraw.
        self.post_message(Relayout())

    def wanted(self, board: Board, selected: tuple[int, ...]) -> list[int]:
        """The ids to show: every process if they all fit, else as many of SELECTED as
        fit (at least one). A pane with a memory limit is a row taller (the limit's line)
        unless that row is what keeps every pane from fitting: all panes come first."""
        if self.styles.height is not None and self.styles.height.is_auto:
            # Sized by its pane (narrow screens): the selected one, with its limit's row.
            self._tall = True
            return [i for i in selected if i in board.procs][:1]
        everyone = [info for infos in board.apps().values() for info in infos]
        rows = self.size.height or HEIGHT
        for tall in (True, False):
            if everyone and sum(pane_height(info, tall=tall) for info in everyone) <= rows:
                self._tall = tall
                return [info.id for info in everyone]
        self._tall = True
        ids: list[int] = []
        for pm_id in selected:
            proc = board.procs.get(pm_id)
            if proc is None:
                continue
            rows -= pane_height(proc.info)
            if ids and rows < 0:
                break
            ids.append(pm_id)
        return ids

    colours: Colours | None = None
    """Set by the app from the theme."""

    def show(self, board: Board, selected: tuple[int, ...]) -> None:
        """Mount, remove and redraw panes so they match BOARD and the selection."""
        ids = self.wanted(board, selected)
        self._selected = selected
        if ids != self._shown:
            self._shown = ids
            current = {pane.pm_id: pane for pane in self.query(AppPane)}
            for pm_id, pane in current.items():
                if pm_id not in ids:
                    pane.remove()
            new = [AppPane(pm_id, id=f"pane-{pm_id}") for pm_id in ids if pm_id not in current]
            if new:
                self.mount_all(new)
            # Keep the on-screen order the table's order.
            self.call_after_refresh(self._order, ids)
            self.call_after_refresh(self._redraw_all, board)
        else:
            self._redraw_all(board)

    def redraw(self, board: Board, pm_id: int) -> None:
        """Redraw PM_ID's pane if it is shown (after a metrics sample)."""
        if pm_id in self._shown:
            panes = self.query(f"#pane-{pm_id}").results(AppPane)
            for pane in panes:
                if pm_id in board.procs:
                    pane.show(
                        board.procs[pm_id], board.memory_peak(), self.colours, tall=self._tall
                    )

    def _redraw_all(self, board: Board) -> None:
        peak = board.memory_peak()
        for pane in self.query(AppPane):
            proc = board.procs.get(pane.pm_id)
            if proc is not None:
                pane.show(proc, peak, self.colours, tall=self._tall)
                pane.set_class(len(self._shown) > 1 and pane.pm_id in self._selected, "-selected")

    def _order(self, ids: list[int]) -> None:
        panes = {pane.pm_id: pane for pane in self.query(AppPane)}
        previous: AppPane | None = None
        for pm_id in ids:
            pane = panes.get(pm_id)
            if pane is None:
                continue
            if previous is not None:
                self.move_child(pane, after=previous)
            previous = pane
