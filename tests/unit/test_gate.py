"""engine/gate.py: what a dependency's state means for each condition, and the stop order."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from corral.engine.gate import needs, stop_waves, unmet, verdict
from corral.engine.states import ProcessState

S = ProcessState


@dataclass
class Dep:
    state: ProcessState
    exit_code: int | None = None
    exit_signal: str | None = None


@pytest.mark.parametrize(
    ("condition", "dep", "expected"),
    [
        ("started", Dep(S.LAUNCHING), (True, "")),
        ("started", Dep(S.COMPLETED, 0), (True, "")),
        ("started", Dep(S.WAITING), (False, "started")),
        ("started", Dep(S.STOPPED), (False, "stopped")),
        ("ready", Dep(S.ONLINE), (True, "")),
        ("ready", Dep(S.LAUNCHING), (False, "ready")),
        ("ready", Dep(S.ERRORED, 1), (False, "exited 1")),
        ("ready", Dep(S.COMPLETED, 0), (False, "completed")),  # a one-shot is never online
        ("completed", Dep(S.ERRORED, 3), (True, "")),
        ("completed", Dep(S.ONLINE), (False, "completed")),
        ("completed", Dep(S.ERRORED), (False, "errored")),  # never ran: exec failed
        ("completed_successfully", Dep(S.COMPLETED, 0), (True, "")),
        ("completed_successfully", Dep(S.COMPLETED, 3), (False, "exited 3")),  # a stop code
        ("completed_successfully", Dep(S.ERRORED, None, "SIGKILL"), (False, "killed by SIGKILL")),
        ("completed_successfully", Dep(S.STOPPED, 0), (False, "stopped")),
        ("completed_successfully", Dep(S.WAITING_RESTART, 1), (False, "completed_successfully")),
    ],
)
def test_verdict(condition: str, dep: Dep, expected: tuple[bool, str]) -> None:
    assert verdict(condition, dep) == expected


def test_unmet_names_each_dependency_once_and_every_instance_counts() -> None:
    table = {"db": [Dep(S.ONLINE), Dep(S.LAUNCHING)], "migrate": [Dep(S.ERRORED, 1)]}
    got = unmet(
        {"db": "ready", "migrate": "completed_successfully", "cache": "started"},
        lambda name: table.get(name, []),
    )
    assert got == ("db ready", "migrate exited 1", "cache started (not in the process list)")
    assert unmet({"db": "started"}, lambda name: table[name]) == ()


def test_stop_waves_put_dependants_first_even_through_an_app_not_stopped() -> None:
    graph = {"web": {"migrate": "completed"}, "migrate": {"db": "ready"}, "worker": {"db": "ready"}}
    assert needs("web", graph) == {"migrate", "db"}
    waves = stop_waves(["db", "worker", "web", "other"], str, graph)
    assert waves == [["worker", "web", "other"], ["db"]]
    assert stop_waves(["a", "b"], str, {"a": {"b": "ready"}, "b": {"a": "ready"}}) == [["a", "b"]]
