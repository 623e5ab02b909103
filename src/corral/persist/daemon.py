"""Provides `attach`: the daemon's persistence at start-up, before it serves anyone.

In order: read corral.toml; read the previous daemon's state.json (present only if that
daemon died instead of exiting); if so, stop its unsupervised processes and bring them
back (`recover`); then hang a Keeper on the supervisor, write a fresh state.json and,
after a recovery, the dump: the dead daemon may have acknowledged changes its autosave
never wrote (a kill -9 within its 200 ms), and they must not wait for the next change.
Recovery happens before the socket is bound, so the first CLI sees the whole list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from corral.persist import settings, state
from corral.persist.keeper import Keeper

if TYPE_CHECKING:
    from corral.engine.supervisor import Supervisor
    from corral.persist.recover import Restore


async def attach(
    sup: Supervisor, root: str, log: Callable[[str], None], restore: Restore
) -> tuple[Keeper, str | None]:
    """Recover if the previous daemon died, then keep state (and the dump) from now on.

    RESTORE takes `{"entries": [...]}` as the daemon's `restore` method does (the daemon
    passes its own, so persist never imports the daemon). Returns the keeper, and what
    recovery did (a line for the user) if it did anything.
    """
    config = settings.load(root)
    for problem in config.problems:
        log(problem)
    try:
        previous = state.read(root)
    except ValueError as exc:
        log(f"{exc}; nothing recovered")
        previous = None
    outcome = None
    notice = None
    if previous is not None:
        from corral.persist.recover import recover

        outcome = await recover(previous, root, restore)
        if outcome is None:
            log(f"state from another boot (daemon pid {previous.daemon_pid}) ignored")
        elif outcome.anything:
            notice = outcome.line()
            log(notice)
    keeper = Keeper(sup, root, autosave=config.autosave, report=log)
    sup.add_sink(keeper, lines=False)
    keeper.write_state()
    if outcome is not None and outcome.failed:
        # Saving without them would drop apps the user never deleted: keep the old dump.
        log("the dump was left as it was: some processes could not be restored")
    elif outcome is not None and not outcome.closing:
        # Even with nothing restored: the dead daemon may have acknowledged the delete of
        # its last app within the autosave's 200 ms, and the dump still lists it.
        await keeper.sync_dump()
    return keeper, notice
