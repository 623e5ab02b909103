"""Provides Fleet: two "hosts" on this machine for the fleet tests, and the `fleet` fixture.

Each host is an sshd on 127.0.0.1 whose sessions get their own CORRAL_HOME, so
`ssh HOST corral dial-stdio` reaches a different daemon on each. An ssh config names
them `fa` and `fb` (short names keep the monitor's table readable), and CORRAL_SSH /
CORRAL_REMOTE point corral at that config and at this venv's corral.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sshd import SshKit

CORRAL = str(Path(sys.executable).with_name("corral"))
SLOTS = ("fa", "fb")


def cli(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the corral CLI against HOME."""
    return subprocess.run(
        [CORRAL, *args],
        env={**os.environ, "CORRAL_HOME": str(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class Fleet:
    """Two hosts, `fa` and `fb`, each an sshd whose sessions use their own CORRAL_HOME."""

    kit: SshKit
    homes: dict[str, Path]
    """The daemon home of each host (`fa`, `fb`) and of the local CLI (`local`)."""
    env: dict[str, str]
    """CORRAL_SSH and CORRAL_REMOTE for the CLI that reaches the hosts."""

    def host(self, slot: str) -> str:
        """The ssh alias of SLOT."""
        return slot

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The CLI on this machine, with its own (empty) home, reaching out with --host."""
        return cli(self.homes["local"], *args, env=self.env)

    def on(self, slot: str, *args: str) -> subprocess.CompletedProcess[str]:
        """The CLI on host SLOT itself (same machine, its home)."""
        return cli(self.homes[slot], *args)

    def write_config(self) -> Path:
        """An ssh config naming both hosts (ports change when a host restarts)."""
        config = self.kit.folder / "fleet_config"
        blocks = []
        for slot in SLOTS:
            server = self.kit.servers[slot]
            options = "\n".join(f"  {o.replace('=', ' ', 1)}" for o in self.kit.ssh_options)
            blocks.append(
                f"Host {slot}\n  HostName 127.0.0.1\n  Port {server.port}\n  User {self.kit.user}\n"
                f"  IdentityFile {self.kit.user_key}\n{options}\n"
            )
        config.write_text("\n".join(blocks))
        return config


@pytest.fixture
def fleet(ssh_kit: SshKit, tmp_path: Path) -> Iterator[Fleet]:
    homes = {slot: tmp_path / slot for slot in (*SLOTS, "local")}
    for slot in SLOTS:
        ssh_kit.servers.pop(slot, None)
        ssh_kit.server(slot, env={"CORRAL_HOME": str(homes[slot])})
    fleet = Fleet(ssh_kit, homes, {})
    config = fleet.write_config()
    fleet.env.update({"CORRAL_SSH": f"ssh -F {config}", "CORRAL_REMOTE": CORRAL})
    try:
        yield fleet
    finally:
        for slot in SLOTS:
            with contextlib.suppress(KeyError):
                ssh_kit.stop(slot)
                ssh_kit.servers.pop(slot)
        for home in homes.values():
            cli(home, "kill")
