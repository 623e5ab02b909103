"""Provides the command line: one module per group of verbs, dispatched by `main`."""
