"""Fleet ids: small, in order of first sight, never reused, and routed back to their host."""

from __future__ import annotations

from corral.daemon.fleet import FleetIds


def test_fleet_ids_are_given_in_order_and_route_back() -> None:
    ids = FleetIds()
    assert [ids.of(0, 0), ids.of(1, 0), ids.of(0, 7), ids.of(1, 0)] == [0, 1, 2, 1]
    assert ids.of(1, -1) == -1  # the supervisor's own messages keep their id
    assert ids.pair(2) == (0, 7)
    assert ids.pair(1) == (1, 0)
    assert ids.pair(3) is None and ids.pair(-1) is None
