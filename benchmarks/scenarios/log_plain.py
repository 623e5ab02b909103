"""Scenario 3, log throughput without timestamps (see `log_throughput`)."""

from benchmarks.scenarios.log_throughput import LogThroughput

SCENARIO = LogThroughput("log_plain", 1_000_000, 20_000, stamped=False, stream="out")
