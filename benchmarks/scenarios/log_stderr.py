"""Scenario 3, log throughput on stderr, 200k lines with timestamps (see `log_throughput`)."""

from benchmarks.scenarios.log_throughput import LogThroughput

SCENARIO = LogThroughput("log_stderr", 200_000, 10_000, stamped=True, stream="error")
