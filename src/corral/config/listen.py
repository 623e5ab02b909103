"""Provides parse_listen: the addresses a cluster app's shared sockets listen on.

Forms: `127.0.0.1:8000`, `:8000` (every IPv4 interface), `[::1]:8000`, `8000`, and
`unix:/path/app.sock`. Pure parsing; the engine binds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """One socket to bind: TCP (host, port) or a Unix path."""

    text: str
    """As the user wrote it, for messages and LISTEN_FDNAMES."""
    family: str
    """"inet", "inet6" or "unix"; the engine also uses "any" (a port on every interface,
    IPv6 dual-stack where the machine has it, as Node's listen(port) binds)."""
    host: str = ""
    port: int = 0
    path: str = ""


def parse_listen(text: str) -> ListenAddress:
    """Parse one address; ValueError with a short reason when it is not one."""
    raw = text.strip()
    if raw.startswith("unix:"):
        path = raw[5:]
        if not path.startswith("/"):
            raise ValueError(f"{text!r}: a unix socket needs an absolute path")
        return ListenAddress(raw, "unix", path=path)
    if raw.isdigit():
        host, port_text = "0.0.0.0", raw
    elif raw.startswith("["):
        host, sep, port_text = raw[1:].partition("]:")
        if not sep:
            raise ValueError(f"{text!r}: write an IPv6 address as [::1]:8000")
    else:
        host, sep, port_text = raw.rpartition(":")
        if not sep:
            raise ValueError(f"{text!r}: expected HOST:PORT, :PORT or unix:/path")
        host = host or "0.0.0.0"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{text!r}: port must be 1-65535")
    import ipaddress  # the daemon loads it only for an app that listens

    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ValueError(f"{text!r}: {host!r} is not an IP address") from None
        ip = ipaddress.ip_address("127.0.0.1")
    family = "inet6" if ip.version == 6 else "inet"
    return ListenAddress(raw, family, host=str(ip), port=int(port_text))


def parse_local_server(text: str) -> tuple[str, int]:
    """A TCP address for one of corral's own servers (metrics, the web view): as
    `parse_listen`, except that `:PORT` and `PORT` mean loopback, never every interface."""
    raw = text.strip()
    if raw.startswith(":") or raw.isdigit():
        raw = "127.0.0.1:" + raw.lstrip(":")
    address = parse_listen(raw)
    if address.family == "unix":
        raise ValueError(f"{text!r}: expected HOST:PORT")
    return address.host, address.port
