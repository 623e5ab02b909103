"""What `corral start` quotes from an app's error log when an instance failed."""

from __future__ import annotations

from corral.cli.settle import last_error_line, settle

OLD = [
    "Traceback (most recent call last):",
    '  File "app.py", line 9, in <module>',
    "    server.bind()",
    "OSError: [Errno 98] Address already in use",
]


def test_the_last_line_of_a_finished_traceback() -> None:
    assert last_error_line(OLD) == "OSError: [Errno 98] Address already in use"
    assert last_error_line(["listening", "fatal: no config"]) == "fatal: no config"


def test_a_traceback_being_written_now_is_skipped() -> None:
    """A crash-looping app's next run is writing its traceback as start reads the file:
    its header and frames are not the error (a suite run under load quoted the header)."""
    for cut in range(1, 4):
        assert last_error_line(OLD + OLD[:cut]) == "OSError: [Errno 98] Address already in use"


def test_nothing_but_a_header_is_still_quoted() -> None:
    assert last_error_line(["Traceback (most recent call last):"]).startswith("Traceback")
    assert last_error_line([]) == ""


def test_errored_by_liveness_restarts_names_the_probe_not_the_signal() -> None:
    """The fifteen restarts can all come between two of start's looks on a busy machine:
    the first row it sees is errored, and the news is still the probe that failed."""
    refused = "connect 127.0.0.1:9: connection refused"
    row = {
        "id": 0,
        "name": "hung",
        "status": "errored",
        "restarts": 15,
        "exit_signal": "SIGINT",
        "reasons": [
            {"reason": "liveness", "detail": refused},
            {"reason": "errored", "detail": "too many unstable restarts (15)"},
        ],
    }
    _rows, notes = settle(lambda: [row], [dict(row, restarts=0)], wait_s=0)
    assert notes == [f"hung (0) errored, restarted by its liveness probe: {refused}"]
    crashed = dict(row, reasons=[{"reason": "crash", "detail": "killed by SIGINT"}])
    _rows, notes = settle(lambda: [crashed], [dict(crashed, restarts=0)], wait_s=0)
    assert notes == ["hung (0) errored: killed by SIGINT"]
