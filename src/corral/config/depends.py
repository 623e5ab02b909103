"""Provides the checks of `depends_on` across a file: every name known, no cycle.

An app's `depends_on` names other apps of the same file, each with a condition
(process-compose's): `started`, `ready`, `completed`, `completed_successfully`. A name
no app has, or a cycle (which could never start), is a config error with the cycle
spelt out, `web -> db -> web`, so it can be fixed from the message alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

CONDITIONS = ("started", "ready", "completed", "completed_successfully")
"""What an app can wait for of another, weakest first."""

DEFAULT_CONDITION = "ready"
"""What a dependency written as a bare name (`depends_on = ["db"]`) waits for."""

Report = Callable[[str, str], None]
"""report(app, message) for a problem with that app's `depends_on`."""


def check(graph: Mapping[str, Mapping[str, str]], known: set[str], report: Report) -> None:
    """GRAPH (app -> its depends_on) against KNOWN (every app name of the file)."""
    from corral.config.schema import suggest

    for app, needs in graph.items():
        for name in needs:
            if name not in known:
                hint = suggest(name, sorted(known - {app}))
                report(app, f"depends on {name!r}, which is no app of this file{hint}")
    for cycle in cycles(graph):
        report(cycle[0], f"a cycle, none of it could ever start: {' -> '.join(cycle)}")


def cycles(graph: Mapping[str, Mapping[str, str]]) -> list[list[str]]:
    """Each cycle once, as the path that closes it (`["web", "db", "web"]`), in file order."""
    found: list[list[str]] = []
    done: set[str] = set()
    seen_cycles: set[frozenset[str]] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            loop = [*path[path.index(node) :], node]
            if frozenset(loop) not in seen_cycles:
                seen_cycles.add(frozenset(loop))
                found.append(loop)
            return
        if node in done or node not in graph:
            return
        path.append(node)
        for name in graph[node]:
            visit(name, path)
        path.pop()
        done.add(node)

    for node in graph:
        visit(node, [])
    return found
