"""Take the README's screenshots of the monitor beyond one terminal, from real runs.

    python scripts/screenshots_remote.py [--out screenshots] [--wait 10]

- `fleet.svg`: `corral monit web-1 web-2` over real ssh. Two sshd on 127.0.0.1 (generated
  keys, in a temporary folder) stand for two hosts; each session gets its own
  CORRAL_HOME, whose daemon runs part of config/demo.toml. The monitor is the real app
  on a FleetAPI, run headless at 120x36.
- `web.png`: `corral monit --web` on one of those daemons, opened in Debian's chromium
  through Playwright.

Needs sshd, ssh-keygen, chromium and the test extras (playwright). Leaves nothing running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORRAL = str(Path(sys.executable).with_name("corral"))
DEMO = ROOT / "config" / "demo"
HOSTS = {"web-1": ("web", "worker"), "web-2": ("flaky", "leaker", "worker")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def corral(home: Path, *args: str) -> None:
    env = {**os.environ, "CORRAL_HOME": str(home)}
    subprocess.run([CORRAL, *args], env=env, check=True, capture_output=True, timeout=60)


class Hosts:
    """Two sshd on loopback, each session with its own CORRAL_HOME, and an ssh config."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[subprocess.Popen[bytes]] = []
        for name in ("host_key", "user_key"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)],
                check=True,
            )
        shutil.copy(folder / "user_key.pub", folder / "authorized_keys")
        (folder / "home").mkdir()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        config = []
        sshd = shutil.which("sshd", path=f"{os.environ['PATH']}:/usr/sbin") or "sshd"
        for host in HOSTS:
            port = free_port()
            conf = folder / f"{host}.conf"
            conf.write_text(
                f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
                f"PidFile {folder / host}.pid\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
                "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                "StrictModes no\nPermitRootLogin yes\nPrintMotd no\nUseDNS no\n"
                f"SetEnv HOME={folder / 'home'} CORRAL_HOME={folder / host}\n"
            )
            self.procs.append(subprocess.Popen([sshd, "-D", "-f", str(conf)]))
            user = os.environ.get("USER", "root")
            config.append(
                f"Host {host}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n"
                f"  IdentityFile {folder / 'user_key'}\n  IdentitiesOnly yes\n"
                f"  UserKnownHostsFile {folder / 'known_hosts'}\n"
                "  StrictHostKeyChecking accept-new\n  LogLevel ERROR\n"
            )
            deadline = time.monotonic() + 10
            while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                if time.monotonic() > deadline:
                    raise SystemExit(f"sshd for {host} did not start")
                time.sleep(0.05)
        (folder / "ssh_config").write_text("\n".join(config))
        os.environ["CORRAL_SSH"] = f"ssh -F {folder / 'ssh_config'}"
        os.environ["CORRAL_REMOTE"] = CORRAL

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(10)


async def shoot_fleet(out: Path, wait: float) -> None:
    from corral.daemon.fleet import FleetAPI
    from corral.tui.app import make_app

    api = FleetAPI(list(HOSTS), window_ms=100)
    try:
        app = make_app(api, source="fleet", home="")
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause(wait)
            app.save_screenshot("fleet.svg", path=str(out))
            print(f"saved {out / 'fleet.svg'}")
    finally:
        await api.aclose()
        api.close()


def serve_web(home: Path, port: int) -> subprocess.Popen[bytes]:
    """`corral monit --web` on HOME's daemon, once it says it serves."""
    server = subprocess.Popen(
        [CORRAL, "monit", "--web", "--listen", f"127.0.0.1:{port}"],
        env={**os.environ, "CORRAL_HOME": str(home)},
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert server.stdout is not None
    server.stdout.readline()
    return server


async def shoot_web(out: Path, port: int, wait: float) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        chromium = shutil.which("chromium")
        browser = await driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1200, "height": 760})
        await page.goto(f"http://127.0.0.1:{port}/")
        await page.wait_for_selector("body.-first-byte", timeout=60_000)
        await page.wait_for_timeout(wait * 1000)
        await page.screenshot(path=str(out / "web.png"))
        await browser.close()
    print(f"saved {out / 'web.png'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds of real run first")
    args = parser.parse_args()
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="corral-remote-shots-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o700)
        hosts = Hosts(folder)
        try:
            for host, apps in HOSTS.items():
                for app in apps:
                    corral(folder / host, "start", str(DEMO / f"{app}.py"), "--name", app)
            asyncio.run(shoot_fleet(args.out, args.wait))
            port = free_port()
            server = serve_web(folder / "web-1", port)
            try:
                asyncio.run(shoot_web(args.out, port, args.wait / 2))
            finally:
                os.killpg(server.pid, 15)
                server.wait(15)
        finally:
            for host in HOSTS:
                with contextlib.suppress(subprocess.SubprocessError):
                    corral(folder / host, "kill")
            hosts.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
