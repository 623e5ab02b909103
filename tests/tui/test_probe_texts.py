"""What an app pane says about probes: the failing one first, then a liveness restart."""

from __future__ import annotations

from dataclasses import replace

from corral.config.spec import Probe
from corral.engine.events import ProbeStatus, RestartReason
from corral.engine.states import ProcessState
from corral.tui.widgets.app_pane import fit, probe_texts, restart_texts
from tests.tui.scripted import T0, info, spec

URL = "http://127.0.0.1:8000/health"
LIVE = Probe("http", URL, failure_threshold=3)
READY = Probe("exec", "test -f db.ready")


def test_a_failing_liveness_probe_counts_toward_its_threshold() -> None:
    status = ProbeStatus("liveness", "http", URL, "pending", "failed", 2, f"GET {URL} timed out")
    api = spec("api", liveness_probe=LIVE)
    texts = probe_texts(info(0, api, ProcessState.ONLINE, probe={"liveness": status}))
    assert texts == []  # not running: an old run's result is no news
    running = {"liveness": replace(status, running=True)}
    texts = probe_texts(info(0, api, ProcessState.ONLINE, probe=running))
    assert fit(texts, 80) == f"✖ liveness 2/3 · GET {URL} timed out"
    assert fit(texts, 44) == "✖ liveness 2/3 · timed out"


def test_readiness_failures_only_delay_online() -> None:
    error = "exec test -f db.ready exited with code 1"
    status = ProbeStatus(
        "readiness", "exec", READY.target, "failing", "failed", 4, error, 0.0, True
    )
    texts = probe_texts(
        info(
            0,
            spec("db", readiness_probe=READY),
            ProcessState.LAUNCHING,
            probe={"readiness": status},
        )
    )
    assert fit(texts, 44) == "✖ readiness 4 failed · exited with code 1"


def test_a_liveness_restart_keeps_what_failed_in_a_narrow_pane() -> None:
    reason = RestartReason(T0, "liveness", f"GET {URL} timed out after 1s")
    app = info(
        0, spec("api", liveness_probe=LIVE), ProcessState.ONLINE, restarts=1, reasons=(reason,)
    )
    assert fit(restart_texts(app), 36) == "↺ 1 · liveness · timed out after 1s"
