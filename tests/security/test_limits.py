"""The protocol's message limit (4 MiB a request line): a request past it is refused by
the client before anything is sent, with the sizes, instead of the daemon closing the
connection mid-send ("the daemon closed the connection", as a 1 MB environment got)."""

from __future__ import annotations

import pytest

from corral.daemon import protocol
from corral.daemon.client import DaemonError
from tests.helpers import APPS, PYTHON, SLEEPER, Corral

pytestmark = pytest.mark.timeout(60)


def test_a_request_past_the_message_limit_is_refused_before_sending(corral: Corral) -> None:
    corral.ok("ping")
    env = {f"BIG_{n}": "x" * 100_000 for n in range(50)}  # 5 MB
    spec = {"name": "web", "script": SLEEPER, "interpreter": PYTHON, "cwd": str(APPS), "env": env}
    with corral.client() as client, pytest.raises(DaemonError) as refused:
        client.call("add", specs=[spec])
    assert refused.value.code == protocol.ErrorCode.BAD_PARAMS
    assert f"more than the {protocol.MAX_LINE} bytes" in refused.value.message
    assert corral.rows() == []  # and the daemon still answers
