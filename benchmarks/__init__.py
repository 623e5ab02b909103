"""corral's benchmark harness: the same scenarios for corral and pm2, side by side.

Run `python -m benchmarks` from the repository root (see run.py); the results go to
benchmarks/RESULTS.md. Tools are driven only through `benchmarks.adapters`, scenarios
live one per module in `benchmarks.scenarios`, and the child programs in `apps/`.
"""
