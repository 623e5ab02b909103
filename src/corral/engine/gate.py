"""Provides the engine's side of `depends_on`: whether an app may start, and in what order
apps start and stop.

An app's `depends_on` names apps with a condition (config/depends.py). Before a process
starts, `unmet` says what of it does not hold yet, one phrase per dependency: the
condition (`db ready`) while it may still come, or what went wrong (`migrate exited 1`,
`db stopped`) when it cannot come without someone's help. The supervisor keeps such a
process `waiting` and looks again whenever a process changes state. Pure functions over
anything with a state and an exit status, so they are tested without processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal, Protocol, TypeVar

from corral.engine.states import ProcessState

DepsMode = Literal["wait", "with", "ignore"]
"""How `start` treats `depends_on`: wait for it (the default, process-compose's `process
start`), start the dependencies too (`--with-deps`), or ignore it (`--no-deps`)."""

DEPS_MODES: tuple[DepsMode, ...] = ("wait", "with", "ignore")

S = ProcessState
_UNDERWAY = frozenset({S.LAUNCHING, S.ONLINE, S.WAITING_RESTART, S.STOPPING})
"""States of a dependency that may still satisfy any condition by itself."""


class Dependency(Protocol):
    """What the gate reads of a process (ManagedProcess has it)."""

    @property
    def state(self) -> ProcessState: ...

    @property
    def exit_code(self) -> int | None: ...

    @property
    def exit_signal(self) -> str | None: ...


def verdict(condition: str, dep: Dependency) -> tuple[bool, str]:
    """(holds, why not): whether DEP meets CONDITION, else the words that say why.

    `why not` is the condition itself while DEP may still get there on its own, and what
    happened to it when it cannot (stopped, errored, exited 1, completed).
    """
    state = dep.state
    if condition == "started":
        holds = state in _UNDERWAY or state is S.COMPLETED
    elif condition == "ready":
        holds = state is S.ONLINE
    elif condition == "completed":
        holds = state is S.COMPLETED or (state is S.ERRORED and _exited(dep))
    else:  # completed_successfully
        holds = state is S.COMPLETED and dep.exit_code == 0
    if holds:
        return True, ""
    if state in _UNDERWAY or state is S.WAITING:
        return False, condition
    return False, _what_happened(dep)


def _exited(dep: Dependency) -> bool:
    return dep.exit_code is not None or dep.exit_signal is not None


def _what_happened(dep: Dependency) -> str:
    """A dependency that will not move by itself: `stopped`, `errored`, `exited 1`…"""
    if dep.state is S.STOPPED:
        return "stopped"
    if dep.exit_signal is not None:
        return f"killed by {dep.exit_signal}"
    if dep.exit_code is not None and (dep.exit_code != 0 or dep.state is S.ERRORED):
        return f"exited {dep.exit_code}"
    return dep.state.value


P = TypeVar("P", bound=Dependency)


def unmet(
    depends_on: Mapping[str, str], named: Callable[[str], Sequence[Dependency]]
) -> tuple[str, ...]:
    """What of DEPENDS_ON does not hold, one phrase per dependency (`db ready`,
    `migrate exited 1`); empty when the app may start. Every instance of a dependency
    must meet the condition; NAMED gives an app's instances."""
    out: list[str] = []
    for name, condition in depends_on.items():
        deps = named(name)
        if not deps:
            out.append(f"{name} {condition} (not in the process list)")
            continue
        for dep in deps:
            holds, why = verdict(condition, dep)
            if not holds:
                out.append(f"{name} {why}")
                break
    return tuple(out)


def needs(name: str, graph: Mapping[str, Mapping[str, str]]) -> set[str]:
    """Every app NAME depends on, directly or through others (never NAME itself)."""
    seen: set[str] = set()
    stack = list(graph.get(name, {}))
    while stack:
        dep = stack.pop()
        if dep not in seen and dep != name:
            seen.add(dep)
            stack.extend(graph.get(dep, {}))
    return seen


Named = TypeVar("Named")


def stop_waves(
    procs: Sequence[Named], name_of: Callable[[Named], str], graph: Mapping[str, Mapping[str, str]]
) -> list[list[Named]]:
    """PROCS in the order a stop takes them: each wave holds the ones no process left
    depends on (directly or through other apps), so dependants stop before what they
    need, as systemd does; each wave stops all at once."""
    closure = {name: needs(name, graph) for name in {name_of(p) for p in procs}}
    left = list(procs)
    waves: list[list[Named]] = []
    while left:
        needed: set[str] = set()
        for proc in left:
            needed |= closure[name_of(proc)]
        wave = [p for p in left if name_of(p) not in needed] or left  # a cycle: all at once
        waves.append(wave)
        left = [p for p in left if p not in wave]
    return waves


def graph_of(specs: Iterable[tuple[str, Mapping[str, str]]]) -> dict[str, dict[str, str]]:
    """App name -> its depends_on, from (name, depends_on) pairs (instances merge)."""
    graph: dict[str, dict[str, str]] = {}
    for name, depends_on in specs:
        graph.setdefault(name, {}).update(depends_on)
    return graph
