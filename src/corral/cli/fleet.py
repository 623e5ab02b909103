"""Provides `--host`/`--hosts`: the same verbs on the daemons of other machines.

`session.add_host_flags` registers the flags (this module is imported only when they are
used). Each host is reached by `ssh HOST corral dial-stdio` (see daemon/remote.py), so a verb
runs remotely exactly as it runs here. Hosts are served concurrently, one thread each;
what a verb prints is gathered per host and printed in the order the hosts were given,
under a heading, then a summary line like deploy's; `logs` streams instead, each line
prefixed with its host. JSON output becomes one array whose rows carry a `host` key.
The exit code is 1 when any host failed.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading

from corral.cli.main import Failure, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from corral.cli.main import VerbModule

_local = threading.local()


def hosts_of(args: argparse.Namespace) -> list[str]:
    """The hosts ARGS names, in order, without repeats; [] for this machine."""
    hosts: list[str] = list(getattr(args, "hosts", None) or [])
    path = getattr(args, "hosts_file", None)
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(1 << 20)
        except OSError as exc:
            raise UsageError(f"--hosts {path}: {exc.strerror}") from None
        for line in text.splitlines():
            entry = line.split("#", 1)[0].strip()
            if entry:
                hosts.append(entry)
        if not hosts:
            raise UsageError(f"--hosts {path}: no host in the file")
    return list(dict.fromkeys(hosts))


def current_host() -> str | None:
    """The host the calling thread's verb runs against (None: this machine)."""
    host: str | None = getattr(_local, "host", None)
    return host


class _ThreadOutput(io.TextIOBase):
    """sys.stdout while hosts run: each thread writes to its own target."""

    def __init__(self, real: TextIO) -> None:
        self.real = real

    def _target(self) -> TextIO:
        target: TextIO | None = getattr(_local, "out", None)
        return target if target is not None else self.real

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()


class _Prefixed(io.TextIOBase):
    """Writes whole lines to OUT, each behind `HOST | ` (or, for JSON lines, with a `host`
    key), under one lock for all hosts."""

    lock = threading.Lock()

    def __init__(self, host: str, out: TextIO, as_json: bool) -> None:
        self.host = host
        self.out = out
        self.as_json = as_json
        self.partial = ""

    def write(self, text: str) -> int:
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        if lines:
            with self.lock:
                self.out.write("".join(self._label(line) + "\n" for line in lines))
                self.out.flush()
        return len(text)

    def _label(self, line: str) -> str:
        if self.as_json and line.startswith("{"):
            return json.dumps({"host": self.host, **json.loads(line)}, ensure_ascii=False)
        return f"{self.host} | {line}"


def run(args: argparse.Namespace, module: VerbModule, hosts: list[str]) -> int:
    """Run ARGS's verb on each of HOSTS; 1 if any failed (130 on Ctrl-C)."""
    streaming = getattr(args, "action", None) == "logs"
    as_json = args.verb == "jlist" or bool(getattr(args, "json", False))
    real = sys.stdout
    outputs: dict[str, io.StringIO] = {host: io.StringIO() for host in hosts}
    results: dict[str, tuple[int, str]] = {}

    def one(host: str) -> None:
        _local.host = host
        _local.out = _Prefixed(host, real, as_json) if streaming else outputs[host]
        try:
            results[host] = module.run(args), ""
        except (Failure, UsageError) as exc:
            results[host] = (2 if isinstance(exc, UsageError) else 1), str(exc)
        except Exception as exc:  # one host's surprise must not hide the others' results
            results[host] = 1, f"{type(exc).__name__}: {exc}"
        finally:
            _local.out = None
            _local.host = None

    # Daemon threads: `logs` follows until Ctrl-C, and then nobody should wait for them.
    threads = [threading.Thread(target=one, args=(host,), daemon=True) for host in hosts]
    sys.stdout = _ThreadOutput(real)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        return 130
    finally:
        sys.stdout = real
    if as_json and not streaming:
        return _print_json(hosts, outputs, results)
    return _print_text(args, hosts, outputs, results, streaming)


def _print_json(
    hosts: list[str], outputs: dict[str, io.StringIO], results: dict[str, tuple[int, str]]
) -> int:
    merged: list[Any] = []
    for host in hosts:
        code, error = results[host]
        text = outputs[host].getvalue().strip()
        if code == 0 and text:
            for line in text.splitlines():
                rows = json.loads(line)
                rows = rows if isinstance(rows, list) else [rows]
                merged += [{"host": host, **row} for row in rows]
        if error:
            print(f"corral: {host}: {error.removeprefix(f'{host}: ')}", file=sys.stderr)
    sys.stdout.write(json.dumps(merged, ensure_ascii=False) + "\n")
    return 1 if any(code for code, _ in results.values()) else 0


def _print_text(
    args: argparse.Namespace,
    hosts: list[str],
    outputs: dict[str, io.StringIO],
    results: dict[str, tuple[int, str]],
    streaming: bool,
) -> int:
    failed: list[str] = []
    for host in hosts:
        code, error = results[host]
        if not streaming:
            sys.stdout.write(f"── {host} ──\n{outputs[host].getvalue()}")
        if error:
            print(f"corral: {host}: {error.removeprefix(f'{host}: ')}", file=sys.stderr)
        if code:
            failed.append(host)
    ok = len(hosts) - len(failed)
    tail = f", {len(failed)} failed: {', '.join(failed)}" if failed else ""
    print(f"{args.verb}: {ok} host{'s' if ok != 1 else ''} ok{tail}")
    return 1 if failed else 0
