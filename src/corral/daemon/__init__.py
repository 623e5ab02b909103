"""Provides the daemon: the engine plus a Unix-socket RPC server, and its clients.

Importing this package loads nothing: the CLI imports `corral.daemon.client` on every
hot verb, so each module here pays only for what it uses.
"""
