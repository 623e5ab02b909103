"""Shared fixtures: a private CORRAL_HOME per test, a Supervisor, the CLI runner, an sshd.

Every test that starts processes checks at teardown that none of them is left. Helpers
(functions and classes) live in tests/helpers.py; only fixtures live here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, settings

from corral.engine import Supervisor
from tests.fleet import fleet
from tests.helpers import Corral, Recorder, Up, descendants, lead_with_slow
from tests.sshd import SSHD, SshKit, keygen

__all__ = ["fleet"]  # the fixture, imported so every test module finds it

# Hypothesis's per-example deadline (200 ms) and its too_slow health check measure how
# fast this machine is at the moment, not the code: on a 2-core machine running other
# suites they fail tests at random. The test's own timeout still bounds a real hang.
settings.register_profile("corral", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("corral")


def _default_interrupts() -> None:
    """A suite started as a background job (`pytest -q &` in a script, `cmd &` with no job
    control) inherits SIGINT and SIGQUIT ignored, and so does every process its tests
    start: a `corral logs` a test ends with Ctrl-C then follows forever. Tests start their
    processes as a terminal would, with the defaults (checked in test_conventions)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGQUIT) is signal.SIG_IGN:
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)


_default_interrupts()  # at import: in the main process and in every xdist worker


def pytest_configure(config: pytest.Config) -> None:
    """Cache corral's bytecode once, at both levels its processes use, before any worker
    starts. The suite starts hundreds of daemons, CLIs and monitors; where
    PYTHONDONTWRITEBYTECODE is set (as on CI here) and the clone is fresh, each of them
    compiled corral's modules from source again (0.12 CPU-s a daemon start). Level 2 is
    what the daemon runs at (`corral.daemon.launch.optimize_flags`), as it does for users."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller has done it
    import compileall

    import corral

    for level in (0, 2):
        compileall.compile_dir(os.path.dirname(corral.__file__), quiet=1, optimize=level)


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The `slow` tests first, one at the head of each worker's share (`lead_with_slow`).

    In a random order the longest tests often came last, and the run waited half a
    minute on one worker after the others had finished. The order stays random within
    the slow tests and within the rest, so the seed still replays a run."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    items[:] = lead_with_slow(items, _is_slow, workers)


def _is_slow(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None


def _seed_line(config: pytest.Config) -> str | None:
    """How to replay this run's order (pytest-randomly), or None when it is off."""
    if not config.pluginmanager.hasplugin("randomly"):
        return None
    seed = config.getoption("randomly_seed", None)
    return f"random order: --randomly-seed={seed} replays it (-p no:randomly turns it off)"


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    """The seed before the first test too (pytest -q hides the header that shows it)."""
    line = _seed_line(config)
    return [line] if line else []


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The seed again beside the failures, where whoever replays a failure looks."""
    line = _seed_line(config)
    if line:
        terminalreporter.write_line(line)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private CORRAL_HOME, so no test touches ~/.corral or another test's daemon."""
    path = tmp_path / "home"
    monkeypatch.setenv("CORRAL_HOME", str(path))
    return path


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    """Fail the test if it leaves any process of its own behind."""
    before = descendants()
    yield
    deadline = time.monotonic() + 5
    left = descendants() - before
    while left and time.monotonic() < deadline:
        time.sleep(0.05)  # teardown only: waiting for the kernel, not synchronising a test
        left = descendants() - before
    for pid in left:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    assert not left, f"processes left behind: {left}"


@pytest.fixture
async def sup(home: Path, no_leftovers: None) -> AsyncIterator[tuple[Supervisor, Recorder]]:
    """An opened Supervisor in a private home, with a Recorder sink; closed at teardown."""
    supervisor = Supervisor(home)
    recorder = Recorder()
    supervisor.add_sink(recorder, samples=True)
    async with supervisor:
        yield supervisor, recorder


@pytest.fixture
def corral(home: Path, no_leftovers: None) -> Iterator[Corral]:
    """A CLI bound to a private CORRAL_HOME; its daemon and apps are gone after the test."""
    runner = Corral(home)
    yield runner
    left = runner.teardown()
    assert not left, f"processes of {home} left behind: {left}"


@pytest.fixture
def up_env(home: Path) -> dict[str, str]:
    """The environment for a `corral up` subprocess: the private home, no colours."""
    return dict(os.environ, CORRAL_HOME=str(home), NO_COLOR="1")


@pytest.fixture
def runner(up_env: dict[str, str], tmp_path: Path) -> Iterator[list[Up]]:
    """The `corral up` runs a test starts; any still running are killed with their apps."""
    started: list[Up] = []
    yield started
    for up in started:
        if up.proc.poll() is None:
            # Its apps live in their own sessions: find them before their supervisor goes.
            apps = psutil.Process(up.proc.pid).children(recursive=True)
            os.killpg(up.proc.pid, signal.SIGKILL)
            for proc in apps:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            up.proc.wait()


@pytest.fixture(scope="session")
def ssh_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshKit]:
    """Generated host and user keys and a first sshd (slot "a"); every sshd ends at teardown.

    One per session: key generation and sshd start-up are the slow part of the SSH tests.
    """
    if SSHD is None:
        pytest.skip("no sshd binary (install Debian's openssh-server; .ci/run does)")
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("no OpenSSH client (ssh, ssh-keygen) on PATH")
    folder = tmp_path_factory.mktemp("ssh")
    folder.chmod(0o700)
    kit = SshKit(folder)
    keygen(folder / "host_ed25519")
    keygen(kit.user_key)
    shutil.copy(folder / "id_ed25519.pub", folder / "authorized_keys")
    kit.home.mkdir()
    try:
        kit.server("a")
        yield kit
    finally:
        with contextlib.suppress(Exception):
            kit.close()
