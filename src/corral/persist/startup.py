"""Provides boot services that run `corral resurrect` as a user: systemd, launchd, openrc, SysV.

`plan` turns a Target (platform, user, homes, service name) into the file to install, its
mode, and the commands that enable or disable it; `install`/`uninstall` write or remove
that file under an optional root folder (tests install into a temporary one). Nothing here
runs a command: the CLI decides whether it may (root, no --root, no --print).

The systemd unit follows PM2's (Type=forking with the daemon's pid file, Restart=on-failure,
ExecStart resurrect, ExecReload reload all, ExecStop kill). Restart=on-failure is safe: a
restarted service's daemon recovers whatever its predecessor left running (state.json).
"""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from corral.persist.files import atomic_write, read_bytes

PLATFORMS = ("systemd", "launchd", "openrc", "systemv")
ALIASES = {
    **{name: "systemd" for name in ("ubuntu", "debian", "centos", "redhat", "fedora", "arch")},
    **{name: "systemd" for name in ("oracle", "suse")},
    **{name: "launchd" for name in ("macos", "darwin")},
    "alpine": "openrc",
    **{name: "systemv" for name in ("sysv", "amazon", "centos6", "upstart", "ubuntu14")},
}
"""PM2's platform names, mapped to the four this module writes."""
STANDARD_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

Which = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Target:
    """Whose apps come back, and how corral is reached."""

    platform: str
    user: str
    user_home: str
    """The user's home (PM2's --hp); ~/Library/LaunchAgents lives there."""
    corral_home: str
    """The CORRAL_HOME the service uses (where dump.json is)."""
    service: str
    command: tuple[str, ...]
    """How to run corral: its script, or the interpreter with `-m corral`."""
    path: str
    """PATH for the service: the one corral was set up from, so interpreters are found."""
    wait_ip: bool = False
    """systemd: start once the network is online (network-online.target)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What `startup` installs and runs (`unstartup` undoes it in reverse)."""

    dest: str
    text: str
    mode: int
    enable: list[list[str]] = field(default_factory=list)
    """Run after the file is written."""
    disable: list[list[str]] = field(default_factory=list)
    """Run before the file is removed."""
    after_remove: list[list[str]] = field(default_factory=list)
    needs_root: bool = True


def detect(which: Which = shutil.which) -> str:
    """The init system here, PM2's way: the first of its tools found on PATH."""
    for tool, platform in (("systemctl", "systemd"), ("launchctl", "launchd")):
        if which(tool):
            return platform
    return "openrc" if which("rc-update") else "systemv"


def platform_named(name: str | None, which: Which = shutil.which) -> str:
    """NAME as one of PLATFORMS (detected when None); ValueError for an unknown name."""
    if name is None:
        return detect(which)
    lower = name.lower()
    found = lower if lower in PLATFORMS else ALIASES.get(lower)
    if found is None:
        raise ValueError(f"unknown init system {name!r}; choose one of {', '.join(PLATFORMS)}")
    return found


def corral_command() -> tuple[str, ...]:
    """This corral's console script, or `python -m corral` when it has none."""
    script = os.path.join(os.path.dirname(sys.executable), "corral")
    if os.access(script, os.X_OK):
        return (os.path.abspath(script),)
    return (sys.executable, "-m", "corral")


def service_path(current: str | None) -> str:
    """CURRENT PATH, with corral's interpreter folder first and the standard folders after."""
    parts = [os.path.dirname(sys.executable), *(current or "").split(os.pathsep), *STANDARD_PATH]
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return os.pathsep.join(seen)


def default_service(platform: str, user: str) -> str:
    return f"corral.{user}" if platform == "launchd" else f"corral-{user}"


def plan(t: Target, which: Which = shutil.which) -> Plan:
    """The file and commands for T."""
    if t.platform == "systemd":
        return Plan(
            f"/etc/systemd/system/{t.service}.service",
            systemd_unit(t),
            0o644,
            [["systemctl", "daemon-reload"], ["systemctl", "enable", t.service]],
            [["systemctl", "disable", t.service]],
            [["systemctl", "daemon-reload"]],
        )
    if t.platform == "launchd":
        dest = os.path.join(t.user_home, "Library", "LaunchAgents", f"{t.service}.plist")
        return Plan(
            dest,
            launchd_plist(t),
            0o644,
            [["launchctl", "load", "-w", dest]],
            [["launchctl", "unload", "-w", dest]],
            needs_root=False,
        )
    dest = f"/etc/init.d/{t.service}"
    if t.platform == "openrc":
        return Plan(
            dest,
            openrc_script(t),
            0o755,
            [["rc-update", "add", t.service, "default"]],
            [["rc-update", "delete", t.service, "default"]],
        )
    if which("update-rc.d") or not which("chkconfig"):
        enable = [["update-rc.d", t.service, "defaults"]]
        disable = [["update-rc.d", "-f", t.service, "remove"]]
    else:
        enable = [["chkconfig", "--add", t.service], ["chkconfig", t.service, "on"]]
        disable = [["chkconfig", t.service, "off"], ["chkconfig", "--del", t.service]]
    return Plan(dest, sysv_script(t), 0o755, enable, disable)


# ----------------------------------------------------------------- templates


def _unit_word(word: str) -> str:
    """One word of a systemd command line or assignment: specifiers and $ escaped, quoted."""
    word = word.replace("%", "%%").replace("$", "$$")
    if any(c in word for c in " \t\"\\'"):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def systemd_unit(t: Target) -> str:
    corral = " ".join(_unit_word(w) for w in t.command)
    network = "network-online.target" if t.wait_ip else "network.target"
    wants = f"Wants={network}\n" if t.wait_ip else ""
    return f"""\
# Generated by `corral startup systemd`; `corral unstartup systemd` removes it.
[Unit]
Description=corral process manager for {t.user}
After={network}
{wants}
[Service]
Type=forking
User={t.user}
LimitNOFILE=infinity
LimitNPROC=infinity
LimitCORE=infinity
Environment={_unit_word("PATH=" + t.path)}
Environment={_unit_word("CORRAL_HOME=" + t.corral_home)}
PIDFile={_unit_word(os.path.join(t.corral_home, "daemon.pid"))}
Restart=on-failure
ExecStart={corral} resurrect
ExecReload={corral} reload all
ExecStop={corral} kill

[Install]
WantedBy=multi-user.target
"""


def launchd_plist(t: Target) -> str:
    log = os.path.join(t.corral_home, "launchd.log")
    body = {
        "Label": t.service,
        "ProgramArguments": [*t.command, "resurrect"],
        "EnvironmentVariables": {"PATH": t.path, "CORRAL_HOME": t.corral_home},
        "RunAtLoad": True,
        "LaunchOnlyOnce": True,
        "KeepAlive": False,
        "StandardOutPath": log,
        "StandardErrorPath": log,
    }
    return plistlib.dumps(body, sort_keys=False).decode()


def _shell_commands(t: Target) -> dict[str, str]:
    """Each action as one shell-quoted line, run as the user (`su` when we are root)."""
    env = f"env CORRAL_HOME={shlex.quote(t.corral_home)} PATH={shlex.quote(t.path)}"
    corral = " ".join(shlex.quote(w) for w in t.command)
    return {
        verb: shlex.quote(f"{env} {corral} {args}")
        for verb, args in (("start", "resurrect"), ("stop", "kill"), ("reload", "reload all"))
    }


def _as_user(t: Target) -> str:
    user = shlex.quote(t.user)
    return f"""\
as_user() {{
    if [ "$(id -un)" = {user} ]; then /bin/sh -c "$1"; else su -s /bin/sh -c "$1" {user}; fi
}}"""


def openrc_script(t: Target) -> str:
    run = _shell_commands(t)
    return f"""\
#!/sbin/openrc-run
# Generated by `corral startup openrc`; `corral unstartup openrc` removes it.
description="corral process manager for {t.user}"
extra_started_commands="reload"

depend() {{
    need net
    after firewall
}}

{_as_user(t)}

start() {{
    ebegin "Resurrecting the corral apps of {t.user}"
    as_user {run["start"]}
    eend $?
}}

stop() {{
    ebegin "Stopping corral for {t.user}"
    as_user {run["stop"]}
    eend $?
}}

reload() {{
    ebegin "Reloading the corral apps of {t.user}"
    as_user {run["reload"]}
    eend $?
}}
"""


def sysv_script(t: Target) -> str:
    run = _shell_commands(t)
    pid_file = shlex.quote(os.path.join(t.corral_home, "daemon.pid"))
    return f"""\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          {t.service}
# Required-Start:    $local_fs $remote_fs $network
# Required-Stop:     $local_fs $remote_fs $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: corral process manager for {t.user}
# Description:       Brings the corral apps of {t.user} back at boot (corral resurrect).
### END INIT INFO
# Generated by `corral startup systemv`; `corral unstartup systemv` removes it.

{_as_user(t)}

case "$1" in
    start) as_user {run["start"]} ;;
    stop) as_user {run["stop"]} ;;
    restart) as_user {run["stop"]}; as_user {run["start"]} ;;
    reload|force-reload) as_user {run["reload"]} ;;
    status)
        if [ -f {pid_file} ] && kill -0 "$(cat {pid_file})" 2>/dev/null; then
            echo "corral is running (pid $(cat {pid_file}))"
        else
            echo "corral is not running"; exit 3
        fi ;;
    *) echo "Usage: $0 {{start|stop|restart|reload|status}}" >&2; exit 2 ;;
esac
"""


# ------------------------------------------------------------------ install


def rooted(root: str | None, path: str) -> str:
    """PATH under ROOT (tests install into a folder), or PATH itself."""
    return os.path.join(root, path.lstrip("/")) if root else path


def install(p: Plan, root: str | None = None) -> bool:
    """Write P's file (atomically, with its mode); False when it was already there as is."""
    dest = rooted(root, p.dest)
    data = p.text.encode()
    if read_bytes(dest) == data and (os.stat(dest).st_mode & 0o777) == p.mode:
        return False
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    atomic_write(dest, data)
    os.chmod(dest, p.mode)
    return True


def uninstall(p: Plan, root: str | None = None) -> bool:
    """Remove P's file; False when there was none."""
    try:
        os.unlink(rooted(root, p.dest))
    except FileNotFoundError:
        return False
    return True
