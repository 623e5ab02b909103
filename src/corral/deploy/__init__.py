"""Provides `corral deploy`: PM2's git-based deploys over the system ssh, many hosts at once.

`load_target` reads the `deploy.<env>` section of an ecosystem file; `runner.run_action`
runs setup, a deploy, a revert or a query on each host and returns a DeployReport. Only
the deploy section is read: the apps are not resolved here, since their scripts may
exist only on the servers (built there by a hook).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from corral.config.errors import ConfigError, Problem
from corral.deploy.config import DeployTarget, Host, deploy_target

__all__ = ["DeployTarget", "Host", "load_target"]


def load_target(file: str, env: str) -> DeployTarget:
    """The checked `deploy.ENV` of FILE; raises ConfigError listing every problem."""
    from corral.config.formats import read_document
    from corral.deploy.local import config_in_repo

    absolute = os.path.abspath(file)
    document = read_document(Path(absolute), label=file, env=os.environ)
    data = document.data
    deploy = data.get("deploy") if isinstance(data, Mapping) else None
    if deploy is not None and not isinstance(deploy, Mapping):
        raise ConfigError([Problem(file, None, "deploy", "must be a table/object")])
    return deploy_target(
        deploy or {},
        env,
        label=file,
        config_file=absolute,
        config_in_repo=config_in_repo(absolute),
        positions=document.positions,
    )
