"""The scripted events reach every widget, and each key asks the API for the right thing."""

from __future__ import annotations

from corral.engine.events import Event, StateChanged
from corral.engine.states import ProcessState
from corral.tui.app import CorralApp, make_app
from corral.tui.widgets.app_pane import AppPane
from corral.tui.widgets.confirm import ConfirmScreen
from corral.tui.widgets.details import DetailsScreen
from corral.tui.widgets.help import HelpScreen
from corral.tui.widgets.log_tail import LogTail
from corral.tui.widgets.process_table import ProcessTable
from corral.tui.widgets.search_bar import SearchBar
from tests.tui.pilot import commands_done, settle, wait_until
from tests.tui.scripted import NOW, T0, ScriptedAPI, info, spec


async def test_events_reach_the_widgets(scripted_app: CorralApp) -> None:
    """The table groups the cluster, the panes hold the whole history, the tail every line."""
    async with scripted_app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = scripted_app.query_one("#table", ProcessTable)
        keys = table.row_keys
        assert keys == ["id:3", "id:4", "app:web", "id:0", "id:1", "id:2"]
        pane = scripted_app.query_one("#pane-4", AppPane)
        assert len(scripted_app.feed.board.procs[4].cpu) == 40
        assert len(str(pane.query_one("#cpu-spark").render()).strip()) >= 20
        assert str(pane.query_one("#limit-value").render()) == "limit 200M"
        assert str(pane.query_one("#limit-line").render()).strip().startswith("╌")
        tail = scripted_app.query_one("#tail", LogTail)
        assert tail.line_count == 11
        text = "\n".join(tail.lines)
        assert "\x1b" not in text and "\r" not in text
        assert "[red]not markup[/red]" in text
        assert "worker[2] | progress 100%" in text
        assert "worker[2] ! job 42" in text


async def test_action_keys_call_the_api(scripted_app: CorralApp, api: ScriptedAPI) -> None:
    """r s S l act on the selected row: a cluster header means every instance, by name."""
    async with scripted_app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")  # flaky, the first row
        await pilot.press("down", "down", "s", "S")  # the web cluster
        await pilot.press("down", "l")  # web's instance 0
        await pilot.press("plus")  # web has 2 instances: scale to 3
        await pilot.press("down", "minus")  # still web: 2 -> 1
        await pilot.pause()
        await commands_done(scripted_app)
    assert api.calls == [
        ("restart", "3"),
        ("stop", "web"),
        ("start", "web"),
        ("reload", "0"),
        ("scale", "web", 3),
        ("scale", "web", 1),
    ]


async def test_delete_asks_first(scripted_app: CorralApp, api: ScriptedAPI) -> None:
    """d opens a confirmation; n (or Escape) declines, y deletes."""
    async with scripted_app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        assert isinstance(scripted_app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(scripted_app.screen, ConfirmScreen)
        await pilot.press("d", "y")
        await pilot.pause()
        await commands_done(scripted_app)
    assert api.calls == [("delete", "3")]


async def test_search_follow_and_filter(scripted_app: CorralApp) -> None:
    """/ filters the tail as you type, f pauses it, a shows only the selected app."""
    async with scripted_app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        tail = scripted_app.query_one("#tail", LogTail)
        await pilot.press("slash", *"GET", "enter")
        await wait_until(pilot, lambda: tail.line_count == 2, what="search results")
        assert all("GET" in line for line in tail.lines)
        assert "search “GET”" in str(tail.border_title)
        await pilot.press("slash", "escape")
        await wait_until(pilot, lambda: tail.line_count == 11, what="search cleared")
        await pilot.press("tab", "f")  # focus the table again, then pause
        assert "paused" in str(tail.border_title)
        await pilot.press("f", "a")  # follow again; only flaky's lines (the first row)
        await wait_until(pilot, lambda: tail.line_count == 1, what="flaky's lines")
        assert " flaky[3] " in tail.lines[0]
        await pilot.press("a")
        await wait_until(pilot, lambda: tail.line_count == 11, what="every line again")


async def test_screens_open_and_close(scripted_app: CorralApp) -> None:
    """enter opens the details, ? the help; Escape returns; tab moves the focus."""
    async with scripted_app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert scripted_app.focused is scripted_app.query_one("#table")
        await pilot.press("tab")
        assert scripted_app.focused is scripted_app.query_one("#tail")
        await pilot.press("enter")
        assert isinstance(scripted_app.screen, DetailsScreen)
        await pilot.press("escape", "question_mark")
        assert isinstance(scripted_app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(scripted_app.screen, HelpScreen | DetailsScreen)
        assert not scripted_app.query_one("#search", SearchBar).has_class("-open")


async def test_palette_lists_every_action(scripted_app: CorralApp) -> None:
    """Every key's action is reachable by name from the command palette."""
    async with scripted_app.run_test() as pilot:
        await settle(pilot)
        titles = {c.title for c in scripted_app.get_system_commands(scripted_app.screen)}
    for title in ("Restart the selected app", "Stop the selected app", "Search the logs"):
        assert title in titles
    assert len(titles) >= 14


async def test_q_leaves_monit_at_once(scripted_app: CorralApp, api: ScriptedAPI) -> None:
    """Attached to the daemon, q quits without stopping anything."""
    async with scripted_app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert scripted_app.return_code == 0
    assert api.calls == []


async def test_table_keys_and_mouse_move_the_cursor(scripted_app: CorralApp) -> None:
    """end/home/pagedown/up move the cursor; a click selects, a double click opens details."""
    async with scripted_app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = scripted_app.query_one("#table", ProcessTable)
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        assert table.selected is not None and table.selected.name == "worker"
        await pilot.press("home")
        assert table.cursor_row == 0
        await pilot.press("pagedown", "up")
        assert table.cursor_row == table.row_count - 2
        await pilot.click(table, offset=(3, 3))  # border, header, then row index 1
        assert table.cursor_row == 1
        assert "leaker" in str(table.get_row_at(1)[1])
        await pilot.click(table, offset=(3, 3), times=2)
        assert isinstance(scripted_app.screen, DetailsScreen)


async def test_tail_text_can_be_selected_and_copied(scripted_app: CorralApp) -> None:
    """Dragging over the tail selects log text: the selection is what was shown."""
    async with scripted_app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tail = scripted_app.query_one("#tail", LogTail)
        # Drag from the start of the first line to the end of the second.
        await pilot.mouse_down(tail, offset=(1, 1))
        await pilot.hover(tail, offset=(60, 2))
        await pilot.mouse_up(tail, offset=(60, 2))
        await pilot.pause()
        selected = scripted_app.screen.get_selected_text()
        assert selected is not None
        assert selected.startswith(tail.lines[0][:20])
        assert tail.lines[1][:20] in selected
        # Only what was dragged over: the rows under the mouse carry their text offsets
        # (without them the whole tail would be taken).
        assert tail.lines[2] not in selected


def fleet_events() -> list[Event]:
    """Two hosts as the fleet shows them: names `HOST/NAME`, one a two-instance cluster."""
    web = spec("fa/web", instances=2)
    infos = [
        info(0, web, ProcessState.ONLINE, instance=0),
        info(1, web, ProcessState.ONLINE, instance=1),
        info(2, spec("fb/worker"), ProcessState.ONLINE),
        info(3, spec("fb/web"), ProcessState.STOPPED),
    ]
    return [StateChanged(i, T0) for i in infos]


async def test_a_fleet_table_has_a_host_column() -> None:
    """The fleet's table shows the host in a column of its own, after the id, and the
    names without their `HOST/`; rows stay grouped by host; the monit table has none."""
    fleet = make_app(ScriptedAPI(fleet_events()), source="fleet", clock=lambda: NOW)
    async with fleet.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = fleet.query_one("#table", ProcessTable)
        assert table._column_keys()[:3] == ["id", "host", "name"]
        rows = [[c.plain for c in table.get_row_at(n)[:3]] for n in range(table.row_count)]
        assert rows == [
            ["", "fa", "▾ web"],
            ["0", "fa", "├ web:0"],
            ["1", "fa", "└ web:1"],
            ["3", "fb", "web"],
            ["2", "fb", "worker"],
        ]
    single = make_app(ScriptedAPI(fleet_events()), source="monit", clock=lambda: NOW)
    async with single.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = single.query_one("#table", ProcessTable)
        assert "host" not in table._column_keys()
        assert table.get_row_at(3)[1].plain == "fb/web"


def test_every_state_reads_differently_in_the_table() -> None:
    """Waiting for a restart and waiting for dependencies are different words, not only
    different symbols and colours (a NO_COLOR terminal shows only the words)."""
    from corral.tui.widgets.process_table import STATUS_TEXT

    words = [text.split(" ", 1)[1] for text in STATUS_TEXT.values()]
    assert set(STATUS_TEXT) == set(ProcessState)
    assert len(set(words)) == len(words), words
