"""The suite's own scheduling helper: slow tests at the head of each worker's share."""

from __future__ import annotations

from tests.helpers import lead_with_slow


def _shares(order: list[str], workers: int) -> list[list[str]]:
    """How xdist's worksteal scheduler first splits ORDER among WORKERS idle workers."""
    pending, out = list(order), []
    for k in range(workers):
        size = len(pending) // (workers - k)
        out.append(pending[:size])
        del pending[:size]
    return out


def test_each_worker_starts_on_slow_tests_and_nothing_is_lost() -> None:
    items = [f"t{i}" for i in range(40)]
    slow = {"t3", "t17", "t20", "t33", "t39", "t5", "t8"}
    order = lead_with_slow(items, lambda t: t in slow, 6)
    assert sorted(order) == sorted(items)
    shares = _shares(order, 6)
    assert all(share[0] in slow for share in shares)  # every worker begins with a slow one
    heads = [t for share in shares for t in share if t in slow]
    assert len(heads) == len(slow)
    for share in shares:  # within a share the slow ones come before any other
        flags = [t in slow for t in share]
        assert flags == sorted(flags, reverse=True)
    # The rest keep their (shuffled) order: the seed still replays the run.
    assert [t for t in order if t not in slow] == [t for t in items if t not in slow]


def test_without_workers_or_slow_tests_the_order_is_kept_or_slow_first() -> None:
    items = ["a", "b", "c", "d"]
    assert lead_with_slow(items, lambda _t: False, 6) == items
    assert lead_with_slow(items, lambda t: t == "c", 1) == ["c", "a", "b", "d"]
