"""Take the README's SVG screenshots of the TUI from a real run of config/demo.toml.

    python scripts/screenshots.py [--out screenshots] [--wait 20]

The demo runs for real (an in-process Supervisor in a temporary CORRAL_HOME, so nothing
touches ~/.corral), the app runs headless at 120x36, and after 20 seconds of real logs
and metrics (the leaker then climbs towards its limit's line) it saves the main screen,
the details of the crashing app, the help, the compact layout (`c`) and the main screen
at 80x24 with the leaker selected. Rerun it whenever the UI changes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on now (the demo's 8765 may be taken on this machine)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def shoot(out: Path, wait: float) -> None:
    from corral.config import load_ecosystem
    from corral.engine import Supervisor
    from corral.tui.app import make_app

    eco = load_ecosystem(ROOT / "config" / "demo.toml")
    port = str(free_port())
    apps = [
        dataclasses.replace(a, env={**a.env, "PORT": port}) if "PORT" in a.env else a
        for a in eco.apps
    ]
    with tempfile.TemporaryDirectory(prefix="corral-shots-") as home:
        async with Supervisor(home) as supervisor:
            app = make_app(supervisor, source="up", home=supervisor.home)
            async with app.run_test(size=(120, 36)) as pilot:
                await supervisor.add(apps)
                await pilot.pause(wait)

                def save(name: str) -> None:
                    app.save_screenshot(f"{name}.svg", path=str(out))
                    print(f"saved {out / name}.svg")

                save("main")
                flaky = next(
                    i for i, row in enumerate(app.feed.board.rows()) if row.name == "flaky"
                )
                app.table.move_cursor(row=flaky)
                await pilot.pause(0.3)
                await pilot.press("enter")
                await pilot.pause(0.5)
                save("details")
                await pilot.press("escape", "question_mark")
                await pilot.pause(0.5)
                save("help")
                await pilot.press("escape", "c")
                await pilot.pause(1.0)
                save("compact")
                await pilot.press("c")
                # At 80 columns the selected app's pane shows: the leaker's, with the
                # memory limit drawn above its bars.
                leaker = next(
                    i for i, row in enumerate(app.feed.board.rows()) if row.name == "leaker"
                )
                app.table.move_cursor(row=leaker)
                await pilot.resize_terminal(80, 24)
                await pilot.pause(1.0)
                save("main-80x24")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument(
        "--wait",
        type=float,
        default=20.0,
        help="seconds of real run first (the leaker then nears its limit)",
    )
    args = parser.parse_args()
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(args.out, args.wait))
    return 0


if __name__ == "__main__":
    sys.exit(main())
