"""Provides ProcessState and the table of moves between states.

A leaf module (stdlib only): the daemon, the CLI and the TUI all name states through it.
"""

from __future__ import annotations

from enum import StrEnum


class ProcessState(StrEnum):
    """PM2's status names, so `jlist` consumers and PM2 users read the same words."""

    LAUNCHING = "launching"
    ONLINE = "online"
    STOPPING = "stopping"
    STOPPED = "stopped"
    WAITING_RESTART = "waiting restart"
    ERRORED = "errored"
    WAITING = "waiting"
    """Not started yet: its `depends_on` conditions do not hold (ProcessInfo.waiting_for)."""
    COMPLETED = "completed"
    """Ended on its own with a clean exit and is not restarted (a one-shot job that is done)."""


ALLOWED: dict[ProcessState, frozenset[ProcessState]] = {
    ProcessState.STOPPED: frozenset({ProcessState.LAUNCHING, ProcessState.WAITING}),
    ProcessState.ERRORED: frozenset(
        {ProcessState.LAUNCHING, ProcessState.STOPPED, ProcessState.WAITING}
    ),
    ProcessState.COMPLETED: frozenset(
        {ProcessState.LAUNCHING, ProcessState.STOPPED, ProcessState.WAITING}
    ),
    ProcessState.WAITING: frozenset({ProcessState.LAUNCHING, ProcessState.STOPPED}),
    # A spawn can fail outright (exec error) and go straight to waiting/errored/stopped.
    ProcessState.LAUNCHING: frozenset(
        {
            ProcessState.ONLINE,
            ProcessState.STOPPING,
            ProcessState.WAITING_RESTART,
            ProcessState.ERRORED,
            ProcessState.STOPPED,
            ProcessState.COMPLETED,
        }
    ),
    ProcessState.ONLINE: frozenset(
        {
            ProcessState.STOPPING,
            ProcessState.WAITING_RESTART,
            ProcessState.ERRORED,
            ProcessState.STOPPED,
            ProcessState.LAUNCHING,
            ProcessState.COMPLETED,
        }
    ),
    # A liveness failure stops the run on purpose, then the policy decides as for a crash.
    ProcessState.STOPPING: frozenset(
        {
            ProcessState.STOPPED,
            ProcessState.ERRORED,
            ProcessState.LAUNCHING,
            ProcessState.WAITING_RESTART,
        }
    ),
    ProcessState.WAITING_RESTART: frozenset({ProcessState.LAUNCHING, ProcessState.STOPPED}),
}
"""Every legal move; anything else is a bug in the engine, so `check_transition` raises."""


class IllegalTransition(RuntimeError):
    """The engine tried a move the state machine forbids."""


def check_transition(old: ProcessState, new: ProcessState) -> None:
    """Raise IllegalTransition unless OLD -> NEW is in ALLOWED (staying put is always fine)."""
    if old is not new and new not in ALLOWED[old]:
        raise IllegalTransition(f"{old.value} -> {new.value}")
