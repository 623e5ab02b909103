"""The restart policy, decision by decision, and its invariants under hypothesis."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from corral.config.spec import AppSpec
from corral.engine.policy import (
    BACKOFF_CAP_MS,
    Decision,
    Ending,
    History,
    decide,
)
from corral.engine.states import ProcessState

CRASH_FAST = 10.0  # ms: well under the default min_uptime


def spec(**knobs: Any) -> AppSpec:
    """An app with these restart settings (the policy reads nothing else of it)."""
    return AppSpec("t", "t.py", "/", **knobs)


def crash_loop(knobs: AppSpec, runs: int, uptime: float = CRASH_FAST) -> list[Decision]:
    history, out = History(), []
    for _ in range(runs):
        decision = decide(knobs, history, Ending.EXIT, uptime, 1)
        out.append(decision)
        if not decision.restarts:
            break
        history = decision.history
    return out


def test_default_crash_loop_errors_after_16_starts() -> None:
    """PM2's verified default: 16 starts, then errored with 15 restarts."""
    decisions = crash_loop(spec(), 100)
    assert len(decisions) == 16
    assert decisions[-1].state is ProcessState.ERRORED
    assert sum(d.restarts for d in decisions) == 15


def test_max_restarts_zero_errors_on_first_exit() -> None:
    assert decide(spec(max_restarts=0), History(), Ending.EXIT, 5000, 0).state is (
        ProcessState.ERRORED
    )


def test_stable_run_resets_the_unstable_count() -> None:
    knobs = spec(max_restarts=3)
    h = decide(knobs, History(), Ending.EXIT, CRASH_FAST, 1).history
    h = decide(knobs, h, Ending.EXIT, CRASH_FAST, 1).history
    assert h.unstable_restarts == 2
    h = decide(knobs, h, Ending.EXIT, 5000, 1).history
    assert h.unstable_restarts == 0


def test_slow_crasher_restarts_forever_but_fast_one_after_window_still_errors() -> None:
    """Unlike PM2, a crash loop that starts late (after 16 s of life) is still caught."""
    knobs = spec(max_restarts=4)
    h = decide(knobs, History(), Ending.EXIT, 60_000, 1).history  # lived a minute
    decisions = crash_loop(knobs, 10)
    assert decisions[-1].state is ProcessState.ERRORED
    assert h.unstable_restarts == 0


def test_autorestart_false_settles_and_never_waits() -> None:
    """A one-shot: `completed` on exit 0, `errored` otherwise (PM2: `stopped` for both,
    and it leaves it in 'waiting restart' with a restart_delay)."""
    knobs = spec(autorestart=False, restart_delay=500)
    assert decide(knobs, History(), Ending.EXIT, 10, 1).state is ProcessState.ERRORED
    assert decide(knobs, History(), Ending.EXIT, 10, None).state is ProcessState.ERRORED
    assert decide(knobs, History(), Ending.EXIT, 10, 0).state is ProcessState.COMPLETED


def test_stop_exit_codes() -> None:
    knobs = spec(stop_exit_codes=(3,))
    assert decide(knobs, History(), Ending.EXIT, 5000, 3).state is ProcessState.COMPLETED
    assert decide(knobs, History(), Ending.EXIT, 5000, 4).restarts
    assert decide(knobs, History(), Ending.EXIT, 5000, None).restarts  # killed by a signal


def test_restart_delay_waits() -> None:
    d = decide(spec(restart_delay=250), History(), Ending.EXIT, 5000, 1)
    assert (d.state, d.delay_ms) == (ProcessState.WAITING_RESTART, 250)


def test_exp_backoff_sequence_matches_pm2() -> None:
    """PM2's verified sequence for 100: 100,150,225,337,505,757,1135,1702,2553, cap 15000."""
    knobs = spec(exp_backoff_restart_delay=100, max_restarts=1000)
    delays, h = [], History()
    for _ in range(20):
        d = decide(knobs, h, Ending.EXIT, 2000, 1)
        delays.append(d.delay_ms)
        h = d.history
    assert delays[:9] == [100, 150, 225, 337, 505, 757, 1135, 1702, 2553]
    assert delays[-1] == BACKOFF_CAP_MS


def test_exp_backoff_resets_after_30s_up() -> None:
    knobs = spec(exp_backoff_restart_delay=100)
    h = History(prev_backoff_ms=5000)
    assert decide(knobs, h, Ending.EXIT, 31_000, 1).delay_ms == 100
    assert decide(knobs, h, Ending.EXIT, 2_000, 1).delay_ms == 7500


def test_user_stop_and_triggers() -> None:
    h = History(unstable_restarts=5, prev_backoff_ms=900)
    assert decide(spec(), h, Ending.USER_STOP, 10).state is ProcessState.STOPPED
    for ending in (Ending.USER_RESTART, Ending.MEMORY, Ending.WATCH, Ending.CRON):
        d = decide(spec(autorestart=False), h, ending, 10)
        assert (d.state, d.delay_ms, d.history) == (ProcessState.LAUNCHING, 0, History())


knobs_st = st.builds(
    spec,
    autorestart=st.booleans(),
    max_restarts=st.integers(0, 50),
    min_uptime=st.integers(0, 10_000),
    restart_delay=st.integers(0, 10_000),
    exp_backoff_restart_delay=st.none() | st.integers(1, 20_000),
    stop_exit_codes=st.lists(st.integers(0, 255), max_size=3).map(tuple),
)
history_st = st.builds(History, st.integers(0, 60), st.integers(0, BACKOFF_CAP_MS))


@given(
    knobs_st,
    history_st,
    st.sampled_from(list(Ending)),
    st.floats(0, 1e7),
    st.none() | st.integers(0, 255),
)
def test_decisions_are_always_well_formed(
    knobs: AppSpec, history: History, ending: Ending, uptime: float, code: int | None
) -> None:
    d = decide(knobs, history, ending, uptime, code)
    assert d.state in {
        ProcessState.LAUNCHING,
        ProcessState.WAITING_RESTART,
        ProcessState.STOPPED,
        ProcessState.ERRORED,
        ProcessState.COMPLETED,
    }
    # Only a clean exit completes: 0 with autorestart off, or a stop code.
    if d.state is ProcessState.COMPLETED:
        assert code is not None and (code in knobs.stop_exit_codes or code == 0)
    # Never left waiting without a delay, never a delay without waiting.
    assert (d.state is ProcessState.WAITING_RESTART) == (d.delay_ms > 0)
    assert (
        0
        <= d.delay_ms
        <= max(BACKOFF_CAP_MS, knobs.restart_delay, knobs.exp_backoff_restart_delay or 0)
    )
    if ending is Ending.EXIT and not knobs.autorestart:
        assert not d.restarts
    if ending is Ending.USER_STOP:
        assert d.state is ProcessState.STOPPED


@given(knobs_st.filter(lambda k: k.autorestart and not k.stop_exit_codes))
def test_a_crash_loop_always_ends_errored_within_max_restarts(knobs: AppSpec) -> None:
    decisions = crash_loop(knobs, knobs.max_restarts + 5, uptime=-1.0)
    assert decisions[-1].state is ProcessState.ERRORED
    assert len(decisions) == max(1, knobs.max_restarts)


@given(knobs_st, st.lists(st.floats(0, 100_000), min_size=1, max_size=40))
def test_unstable_count_is_the_trailing_run_of_short_uptimes(
    knobs: AppSpec, uptimes: list[float]
) -> None:
    h = History()
    for uptime in uptimes:
        d = decide(knobs, h, Ending.EXIT, uptime, 1)
        h = d.history
        if not d.restarts:
            return
    trailing = 0
    for uptime in reversed(uptimes):
        if uptime >= knobs.min_uptime:
            break
        trailing += 1
    assert h.unstable_restarts == trailing
