"""What `corral start` quotes from an app's error log when an instance failed."""

from __future__ import annotations

from corral.cli.settle import last_error_line

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
