"""Prints a line, then dies of an uncaught exception: its traceback is the last output.

The traceback is written to stderr just before the interpreter exits, which is the race
the engine must win: every line read before the exit is published.
"""

print("tracer: about to fail", flush=True)


def deep(n: int) -> None:
    if n == 0:
        raise RuntimeError("tracer: the last line of the traceback")
    deep(n - 1)


deep(20)
