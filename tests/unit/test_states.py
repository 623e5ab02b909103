"""The state machine table: every pair is either allowed or raises."""

from __future__ import annotations

import itertools

import pytest

from corral.engine.states import ALLOWED, IllegalTransition, ProcessState, check_transition

S = ProcessState


@pytest.mark.parametrize(("old", "new"), list(itertools.product(S, S)))
def test_transition_table(old: ProcessState, new: ProcessState) -> None:
    if old is new or new in ALLOWED[old]:
        check_transition(old, new)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(old, new)


def test_key_moves() -> None:
    assert S.ONLINE in ALLOWED[S.LAUNCHING]
    assert S.WAITING_RESTART not in ALLOWED[S.STOPPED]
    assert S.ONLINE not in ALLOWED[S.STOPPED]  # always through launching
    assert S.STOPPED in ALLOWED[S.WAITING_RESTART]  # a stop cancels a pending restart
