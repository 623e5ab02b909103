"""Lets `python -m corral.daemon` start the daemon (the CLI launches it this way)."""

import sys

# The daemon never speaks TLS nor needs OpenSSL's hashes, but asyncio loads ssl and
# `secrets` (run tokens) loads _hashlib: together OpenSSL costs 3-4 MiB of the 25 MiB
# the daemon may use with 20 apps. Both fall back cleanly when these are missing (asyncio:
# no TLS; hashlib and hmac: Python's built-in hashes). Only this entry point does it, so
# importing corral.daemon elsewhere (tests, the TUI) leaves them alone.
for _name in ("ssl", "_ssl", "_hashlib"):
    sys.modules.setdefault(_name, None)  # type: ignore[arg-type]

from corral.daemon.main import main  # noqa: E402 - after the ssl block, on purpose

sys.exit(main())
