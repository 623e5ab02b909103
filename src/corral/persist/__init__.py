"""Provides persistence: the saved process list (dump.json), the daemon's live state file
(state.json) for crash recovery, the global settings file, and boot services (startup).

Nothing here is imported by the CLI's hot verbs; each module is loaded by the verb or the
daemon code that needs it.
"""
