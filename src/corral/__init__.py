"""corral: a process manager with a live terminal UI, for any program."""

__version__ = "0.1.0"
