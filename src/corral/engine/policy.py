"""Provides the restart policy: a pure decision for every way a process can end.

PM2 semantics, with its quirks fixed (see docs/coming-from-pm2.md):
- unstable exits (shorter than min_uptime) are counted *consecutively* and reset by a
  stable run, instead of PM2's window from creation after which an app restarts forever;
- an app that will not restart is `completed` (a clean exit: 0 or a stop code), `errored`
  or `stopped` (by the user), never left `waiting restart`;
- the exponential backoff resets after a run of 30 s, decided at exit time, not by a tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from corral.config.spec import AppSpec
from corral.engine.states import ProcessState

BACKOFF_FACTOR = 1.5
BACKOFF_CAP_MS = 15_000
BACKOFF_RESET_AFTER_MS = 30_000


class Ending(StrEnum):
    """Why a run ended (or is being ended)."""

    EXIT = "exit"
    """The process exited or was killed by a signal on its own."""
    USER_STOP = "user stop"
    USER_RESTART = "user restart"
    MEMORY = "memory limit"
    WATCH = "file change"
    CRON = "cron"


REASON: dict[Ending, str] = {
    Ending.EXIT: "crash",
    Ending.USER_STOP: "user",
    Ending.USER_RESTART: "user",
    Ending.MEMORY: "memory",
    Ending.WATCH: "watch",
    Ending.CRON: "cron",
}
"""The one word a restart is recorded under (events.RestartReason.reason)."""


@dataclass(frozen=True, slots=True)
class History:
    """What the policy remembers between runs of one process."""

    unstable_restarts: int = 0
    """Consecutive exits that came less than min_uptime after their start."""
    prev_backoff_ms: int = 0
    """The last exponential delay used; 0 means the next one starts from the initial value."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after a run ended: restart after `delay_ms`, or settle in `state`."""

    state: ProcessState
    """WAITING_RESTART (or LAUNCHING when delay is 0), STOPPED, COMPLETED or ERRORED."""
    delay_ms: int
    history: History
    reason: str
    """A human phrase for the lifecycle log: why this decision."""

    @property
    def restarts(self) -> bool:
        """True when the process should be started again."""
        return self.state in (ProcessState.WAITING_RESTART, ProcessState.LAUNCHING)


def decide(
    knobs: AppSpec,
    history: History,
    ending: Ending,
    uptime_ms: float,
    exit_code: int | None = None,
) -> Decision:
    """Decide what follows the end of a run that lasted UPTIME_MS.

    Args:
        knobs: the app's spec; only its restart settings are read (autorestart,
            max_restarts, min_uptime, restart_delay, exp_backoff_restart_delay,
            stop_exit_codes), so AppSpec stays the one place they are declared.
        history: counters carried from earlier runs.
        ending: why the run ended.
        uptime_ms: how long the run lasted.
        exit_code: the exit status, or None when a signal ended the process.
    """
    if ending is Ending.USER_STOP:
        return Decision(ProcessState.STOPPED, 0, history, "stopped by user")
    if ending is not Ending.EXIT:
        # Restarts the user or a trigger asked for: immediate, and a fresh start for the
        # crash-loop counters (PM2 resets them on a manual restart too).
        return Decision(ProcessState.LAUNCHING, 0, History(), f"restart: {ending.value}")
    if exit_code is not None and exit_code in knobs.stop_exit_codes:
        return Decision(ProcessState.COMPLETED, 0, history, f"exit code {exit_code} is a stop code")
    if not knobs.autorestart:
        # A one-shot job: done when it exited 0, failed otherwise (PM2 says `stopped` for
        # both; a failed migration must not look like one stopped on purpose).
        if exit_code == 0:
            return Decision(ProcessState.COMPLETED, 0, history, "completed; autorestart is off")
        how = "killed by a signal" if exit_code is None else f"exit code {exit_code}"
        return Decision(ProcessState.ERRORED, 0, history, f"{how} and autorestart is off")

    stable = uptime_ms >= knobs.min_uptime
    unstable = 0 if stable else history.unstable_restarts + 1
    if unstable >= knobs.max_restarts and (not stable or knobs.max_restarts == 0):
        return Decision(
            ProcessState.ERRORED,
            0,
            replace(history, unstable_restarts=unstable),
            f"{unstable} unstable restarts (each up less than {knobs.min_uptime} ms)",
        )

    prev = 0 if uptime_ms >= BACKOFF_RESET_AFTER_MS else history.prev_backoff_ms
    if knobs.exp_backoff_restart_delay is not None and knobs.exp_backoff_restart_delay > 0:
        initial = knobs.exp_backoff_restart_delay
        delay = initial if prev == 0 else math.floor(min(BACKOFF_CAP_MS, prev * BACKOFF_FACTOR))
        new_history = History(unstable, delay)
        why = f"exponential backoff {delay} ms"
    else:
        delay = knobs.restart_delay
        new_history = History(unstable, 0)
        why = f"restart_delay {delay} ms" if delay else "immediately"
    state = ProcessState.WAITING_RESTART if delay > 0 else ProcessState.LAUNCHING
    return Decision(state, delay, new_history, why)
