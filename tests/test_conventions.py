"""The test suite's own rules, checked on its source so that new tests follow them too.

- A test module never imports another test module (or a conftest): shared helpers live in
  tests/helpers.py, tests/httpload.py, tests/tui/pilot.py, tests/tui/scripted.py and
  tests/sshd.py, fixtures in conftest.py. Importing a test module re-runs its module code
  and couples two modules.
- No sleep as synchronisation: a test waits on the condition it is about (a state, a
  line, a pid) with a deadline. A sleep (`time.sleep`, `asyncio.sleep`, Pilot's `pause`
  with a delay) is allowed only inside a loop, where it is the poll interval of such a
  wait; `sleep(0)` (one turn of the event loop) is allowed anywhere. Where the elapsed
  time is itself the scenario (an app must run for 20 s before the check), the line says
  so with a `# sleep-ok: why` comment.
"""

from __future__ import annotations

import ast
import signal
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).parent
SOURCES = sorted(p for p in TESTS.rglob("*.py") if "apps" not in p.relative_to(TESTS).parts)
"""The suite's Python files; tests/apps holds the programs the tests run, which may sleep."""
SLEEPS = {"sleep", "pause"}


def is_test_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return name.startswith("tests.") and (last.startswith("test_") or last == "conftest")


def imported_modules(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
            for alias in node.names:  # `from tests.integration import test_daemon`
                yield node.lineno, f"{node.module}.{alias.name}"


def bare_sleeps(source: str) -> Iterator[int]:
    """Lines of sleeps with a delay that are not the poll interval of a loop."""
    lines = source.splitlines()

    def visit(node: ast.AST, in_loop: bool) -> Iterator[int]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            in_loop = False  # a helper defined in a loop is not itself a poll
        if isinstance(node, ast.While | ast.For | ast.AsyncFor):
            in_loop = True
        if isinstance(node, ast.Call) and not in_loop:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            delay = node.args[0] if node.args else None
            no_wait = isinstance(delay, ast.Constant) and delay.value == 0
            allowed = no_wait or "# sleep-ok: " in lines[node.lineno - 1]
            if name in SLEEPS and delay is not None and not allowed:
                yield node.lineno
        for child in ast.iter_child_nodes(node):
            yield from visit(child, in_loop)

    yield from visit(ast.parse(source), False)


def test_no_test_module_imports_another() -> None:
    found = [
        f"{path.relative_to(TESTS.parent)}:{line} imports {name}"
        for path in SOURCES
        for line, name in imported_modules(ast.parse(path.read_text()))
        if is_test_module(name)
    ]
    assert not found, "move what is shared to tests/helpers.py or a fixture:\n" + "\n".join(found)


def test_no_sleep_is_used_as_synchronisation() -> None:
    found = [
        f"{path.relative_to(TESTS.parent)}:{line}"
        for path in SOURCES
        for line in bare_sleeps(path.read_text())
    ]
    assert not found, "wait on a condition with a deadline instead:\n" + "\n".join(found)


def test_the_checks_catch_what_they_are_for() -> None:
    """The rules themselves can fail: each catches a sample of what it forbids."""
    source = (
        "from tests.integration.test_daemon import Corral\n"
        "from tests.integration import test_cli\n"
        "import time, asyncio\n"
        "time.sleep(2.5)\n"
        "async def f(pilot):\n"
        "    await asyncio.sleep(0)\n"
        "    await pilot.pause(0.2)\n"
        "    while True:\n"
        "        await asyncio.sleep(0.1)\n"
        "        def g(): time.sleep(1)\n"
        "time.sleep(20)  # sleep-ok: the app must run this long first\n"
    )
    sample = ast.parse(source)
    names = [name for _, name in imported_modules(sample) if is_test_module(name)]
    assert names == ["tests.integration.test_daemon", "tests.integration.test_cli"]
    assert list(bare_sleeps(source)) == [4, 7, 10]


def test_processes_the_tests_start_can_be_interrupted() -> None:
    """Whatever the suite inherited (a background job ignores SIGINT and SIGQUIT), the
    processes tests start get the default dispositions, as from a terminal."""
    import subprocess
    import sys

    status = subprocess.run(
        [sys.executable, "-c", "print(open('/proc/self/status').read())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(row for row in status.splitlines() if row.startswith("SigIgn"))
    ignored = int(line.split()[1], 16)
    assert not ignored & (1 << (signal.SIGINT - 1)), "SIGINT is ignored in what tests start"
    assert not ignored & (1 << (signal.SIGQUIT - 1)), "SIGQUIT is ignored in what tests start"
