"""Provides corral's terminal UI (Textual): `corral up` and `corral monit` run it.

Nothing outside this package imports it at module level, so verbs that need no UI never
pay for Textual. Entry points: `corral.tui.app.make_app` and `corral.tui.run`.
"""
