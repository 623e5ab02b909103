"""Provides env files (`env_file`): .env files read with python-dotenv, as layers of the env.

systemd's `EnvironmentFile=` and twelve-factor apps keep settings (often secrets) in
.env files beside the code. Paths are relative to the ecosystem file's folder; a path
written `-.env` is optional, as systemd spells it. Values may use `${VAR}` from earlier
lines (and files) and from the environment corral was started in, as docker compose
does; single-quoted values are taken literally, as in a shell. A line the parser cannot
read is a problem, not a silent skip: a mistyped secret should not vanish.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from corral.config.program import absolute
from corral.config.spec import AppSpec

ORIGIN = "env_file"
"""Origin prefix of a variable set by an env file (`corral config` shows `env_file .env`)."""

MASK = "****"
"""What describe, `corral config` and `corral env` show for a value read from an env file."""

MAX_FILE_BYTES = 1024 * 1024
"""An env file larger than this is refused: it is surely not one (and would not fit execve)."""


@dataclass(frozen=True, slots=True)
class EnvFile:
    """One env file: as written, where it is, and whether it may be missing."""

    written: str
    path: str
    optional: bool

    @property
    def spelling(self) -> str:
        """The resolved path as systemd writes it: `-/abs/.env` when optional."""
        return f"-{self.path}" if self.optional else self.path


def env_files(written: tuple[str, ...], base_dir: str) -> tuple[EnvFile, ...]:
    """`env_file` as coerced (coerce.env_files) -> the files, absolute against BASE_DIR."""
    files: list[EnvFile] = []
    for item in written:
        optional = item.startswith("-")
        path = item[1:] if optional else item
        files.append(EnvFile(item, absolute(path, base_dir), optional))
    return tuple(files)


def origin(file: EnvFile) -> str:
    return f"{ORIGIN} {file.written}"


Layer = tuple[str, Mapping[str, str | None]]


def read_env_files(
    files: tuple[EnvFile, ...], base_env: Mapping[str, str], below: tuple[Layer, ...] = ()
) -> tuple[list[Layer], list[str]]:
    """Each file's variables as a layer (origin, table), and what went wrong, one per line.

    BELOW (the ecosystem's own files under an app's) is seen by `${VAR}`. A missing
    optional file gives no layer. A key written without `=` (`DEBUG`) is skipped,
    as python-dotenv does when it loads a file into the environment.
    """
    from dotenv.parser import parse_stream
    from dotenv.variables import parse_variables

    layers: list[Layer] = []
    errors: list[str] = []
    known: dict[str, str | None] = dict(base_env)
    for _origin, lower in below:
        known.update(lower)
    for file in files:
        try:
            text = _read(file.path)
        except FileNotFoundError:
            if not file.optional:
                hint = f"write '-{file.written}' if it may be missing"
                errors.append(f"env file not found: {file.path} ({hint})")
            continue
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            errors.append(
                f"cannot read env file {file.path}: {getattr(exc, 'strerror', None) or exc}"
            )
            continue
        table: dict[str, str | None] = {}
        for binding in parse_stream(io.StringIO(text)):
            if binding.error:
                line = binding.original.string.strip()[:60]
                errors.append(f"{file.path}:{binding.original.line}: cannot parse {line!r}")
                continue
            if binding.key is None or binding.value is None:
                continue  # a comment, a blank line, or a key without a value
            value = binding.value
            if not _single_quoted(binding.original.string):
                value = "".join(atom.resolve(known) for atom in parse_variables(value))
            if "\0" in value:
                errors.append(f"{file.path}:{binding.original.line}: {binding.key} holds a NUL")
                continue
            table[binding.key] = value
            known[binding.key] = value
        layers.append((origin(file), table))
    return layers, errors


def reread(spec: AppSpec) -> AppSpec:
    """SPEC with its env files read again (reload, restart --update-env): what they gave
    before (`secret_env`) is dropped, what they hold now is laid over, except the keys
    `env` and `env_<profile>` set (`env_pinned`), which win over files as at load.
    ValueError names the app, the key and every problem (a file gone, a bad line)."""
    if not spec.env_file:
        return spec
    files = tuple(EnvFile(w, w.removeprefix("-"), w.startswith("-")) for w in spec.env_file)
    base = {k: v for k, v in spec.env.items() if k not in spec.secret_env}
    layers, errors = read_env_files(files, base)
    if errors:
        raise ValueError(f"app {spec.name!r}: env_file: {'; '.join(errors)}")
    fresh: dict[str, str] = {}
    for _origin, table in layers:
        fresh.update({k: v for k, v in table.items() if v is not None})
    new = {k: v for k, v in fresh.items() if k not in set(spec.env_pinned)}
    return replace(spec, env={**base, **new}, secret_env=tuple(sorted(new)))


def _single_quoted(original: str) -> bool:
    """`KEY='$X'` is literal, as in a shell and in docker compose."""
    _key, _eq, rest = original.partition("=")
    return rest.lstrip().startswith("'")


def _read(path: str) -> str:
    if os.path.isdir(path):
        raise IsADirectoryError(21, "is a folder", path)
    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"over {MAX_FILE_BYTES // 1024} KiB; is it really an env file?")
    return data.decode("utf-8")
