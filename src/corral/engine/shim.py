"""Provides which shim a child gets, and the arguments and environment that load it.

- Node (any mode): the broker channel as NODE_CHANNEL_FD, so process.send() exists as
  under PM2 and `process.send('ready')` means ready; in cluster mode also a --require
  preload whose listen(port) asks the engine for the shared socket.
- Python in cluster mode: a `sitecustomize` directory first on PYTHONPATH (it runs the
  app's own sitecustomize too) whose bind()+listen() of a TCP port asks the engine.
"""

from __future__ import annotations

import os
from typing import Literal

from corral.config import runtime
from corral.config.spec import AppSpec

SHIMS = os.path.join(os.path.dirname(__file__), "shims")
NODE_PRELOAD = os.path.join(SHIMS, "node_listen.cjs")
PYTHON_PATH = os.path.join(SHIMS, "python")
"""Holds sitecustomize.py and _corral_shim.py (standard library only: any Python runs it)."""
PYTHON_FD_VAR = "CORRAL_BROKER_FD"
NODE_FD_VAR = "NODE_CHANNEL_FD"
NODE_MARK_VAR = "CORRAL_NODE_CHANNEL"
"""Tells the Node preload that the IPC channel is corral's (not an app's own parent)."""
DRAIN_VAR = "CORRAL_DRAIN_MS"
DRAIN_MAX_MS = 1000

Kind = Literal["node", "python"]


def kind(spec: AppSpec) -> Kind | None:
    """Which shim SPEC's child gets (None: no channel, nothing preloaded)."""
    if runtime.is_node(spec.interpreter):
        return "node"
    cluster = spec.exec_mode == "cluster" and spec.shim
    if cluster and runtime.is_python(spec.interpreter, spec.script):
        return "python"
    return None


def shares_sockets(spec: AppSpec) -> bool:
    """True when the app's own listen() is served from the engine's sockets (so a reload
    can overlap the old and new instance)."""
    return spec.exec_mode == "cluster" and spec.shim and kind(spec) is not None


def node_preload(spec: AppSpec) -> list[str]:
    """Node arguments that load the cluster preload."""
    if spec.exec_mode == "cluster" and spec.shim and runtime.is_node(spec.interpreter):
        return ["--require", NODE_PRELOAD]
    return []


def env(spec: AppSpec, which: Kind, fd: int, base: dict[str, str]) -> dict[str, str]:
    """The variables that hand the channel (inherited as FD) to the child."""
    drain = str(min(DRAIN_MAX_MS, spec.kill_timeout // 3))
    if which == "node":
        mark = {NODE_MARK_VAR: str(fd), DRAIN_VAR: drain} if node_preload(spec) else {}
        return {NODE_FD_VAR: str(fd), **mark}
    path = base.get("PYTHONPATH")
    return {
        PYTHON_FD_VAR: str(fd),
        "PYTHONPATH": PYTHON_PATH + (f":{path}" if path else ""),
        DRAIN_VAR: drain,
    }
