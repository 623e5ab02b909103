"""Provides read_document: any ecosystem file (TOML, JSON, YAML, JS) as plain Python data.

Each reader turns its parser's failure into located Problems. JS, and JSON that only a
JS engine accepts (PM2 evaluates .json files as JavaScript), are handed to `node`.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.config import bounds, limits
from corral.config.errors import ConfigError, Problem
from corral.config.positions import Positions, toml_positions, yaml_positions

NODE_TIMEOUT_S = 10.0
_MARK = "@@corral-config@@"
_NODE_HEAP_MB = 512  # a JS file that builds a huge object fails in node, not in the machine

# Prints the value as JSON after the mark, unless it is past limits.MAX_FILE_BYTES.
_EMIT = f"""
// A file that calls process.exit() while it is read would end node silently (PM2 itself
// would exit): make it an error whose stack names the line that called it.
const exit = process.exit.bind(process);
process.exit = (code) => {{
  throw new Error("the file calls process.exit(" + (code === undefined ? "" : code) +
    ") while it is read; a config file should only export its config");
}};
function emit(v) {{
  const s = JSON.stringify(v === undefined ? null : v);
  if (s.length > {limits.MAX_FILE_BYTES}) {{
    const mib = {limits.MAX_FILE_BYTES // 2**20};
    process.stderr.write("Error: the config is larger than " + mib + " MiB as JSON");
    exit(1);
  }}
  process.stdout.write("\\n{_MARK}" + s);
}}
"""

# Dynamic import reads CommonJS (default = module.exports) and ES modules alike.
_NODE_MODULE = f"""{_EMIT}
const {{ pathToFileURL }} = require("url");
import(pathToFileURL(process.argv[1]).href).then((m) => {{
  const v = m && "default" in m ? m.default : m;
  emit(v);
}}).catch((e) => {{ process.stderr.write(String((e && e.stack) || e)); exit(1); }});
"""

# What PM2 does with a .json file: evaluate it as one JS expression, in an empty context.
_NODE_EXPRESSION = f"""{_EMIT}
const vm = require("vm");
const fs = require("fs");
const p = process.argv[1];
try {{
  const v = vm.runInNewContext("(" + fs.readFileSync(p, "utf8") + "\\n)", {{}},
                               {{ filename: p, timeout: 5000 }});
  emit(v);
}} catch (e) {{ process.stderr.write(String((e && e.stack) || e)); exit(1); }}
"""

_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")
_JSON5_WHERE = re.compile(r"^<string>:(\d+) (.*) at column (\d+)$", re.DOTALL)
_NODE_WHERE = re.compile(r"^(?P<file>.*):(?P<line>\d+)\n(?P<code>.*)\n(?P<pad>[ \t]*)\^")
_NODE_ERROR = re.compile(r"^\w*(Error|Exception)\b.*$", re.MULTILINE)
_NODE_FRAME = re.compile(
    r"(?:\(|\s)(?:file://)?(?P<file>/[^():\n]+):(?P<line>\d+):(?P<column>\d+)\)?$", re.MULTILINE
)
"""A stack frame (`at f (/path/eco.config.js:3:10)`, `at file:///path/x.mjs:3:9`)."""


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed file: its data, and where its keys are (for messages), when known."""

    data: Any
    positions: Positions = field(default_factory=dict)


def find_node(path_env: str | None) -> str | None:
    """The `node` executable on this PATH (a parameter so callers and tests choose the PATH)."""
    return shutil.which("node", path=path_env)


def read_document(path: Path, *, label: str, env: Mapping[str, str]) -> Document:
    """Parse PATH by its extension; `env` is the environment node runs with (and its PATH).

    Raises ConfigError with located problems when the file cannot be read or parsed.
    """
    text = _read_bounded(path, label)
    suffix = path.suffix.lower()
    try:
        return _parse(text, suffix, path, label, env)
    except RecursionError:  # a backstop: the scans in bounds.py should have caught it
        message = f"nested too deeply to read (more than {bounds.PARSE_DEPTH} levels?)"
        raise ConfigError([Problem(label, None, None, message)]) from None


def _read_bounded(path: Path, label: str) -> str:
    """The file's text, refused past limits.MAX_FILE_BYTES before it is all in memory."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([Problem(label, None, None, "file not found")]) from None
    except OSError as exc:
        raise ConfigError([Problem(label, None, None, f"cannot read the file: {exc}")]) from None
    if len(data) > limits.MAX_FILE_BYTES:
        message = f"the file is larger than {limits.MAX_FILE_BYTES // 1024 // 1024} MiB"
        raise ConfigError([Problem(label, None, None, message)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(label, None, None, f"cannot read the file: {exc}")]) from None


def _refuse(breach: bounds.Breach | None, label: str) -> None:
    if breach is not None:
        problem = Problem(label, None, None, breach.message, breach.line, breach.column)
        raise ConfigError([problem])


def _parse(text: str, suffix: str, path: Path, label: str, env: Mapping[str, str]) -> Document:
    if suffix == ".toml":
        return _read_toml(text, label)
    if suffix in (".json", ".json5"):
        return _read_json(text, path, label, env)
    if suffix in (".yaml", ".yml"):
        return _read_yaml(text, label)
    if suffix in (".js", ".cjs", ".mjs"):
        return Document(_run_node(_NODE_MODULE, path, label, env, what="a JS ecosystem file"))
    problems = [Problem(label, None, None, "unknown extension; tried TOML, then JSON")]
    try:
        return _read_toml(text, label)
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        return _read_json(text, path, label, env)
    except ConfigError as exc:
        problems.extend(exc.problems)
    raise ConfigError(problems)


def _read_toml(text: str, label: str) -> Document:
    import tomllib  # lazily, like every parser here: most CLI commands read no config

    _refuse(bounds.scan_text(text, toml=True), label)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line = column = None
        if where := _TOML_WHERE.search(message):
            line, column = int(where.group(1)), int(where.group(2))
            message = message[: where.start()]
        elif end := _TOML_END.search(message):
            line = text.count("\n") + 1
            message = message[: end.start()] + " at end of file"
        problem = Problem(label, None, None, f"invalid TOML: {message}", line, column)
        raise ConfigError([problem]) from None
    return Document(data, toml_positions(text))


def _read_json(text: str, path: Path, label: str, env: Mapping[str, str]) -> Document:
    """Strict JSON, then JSON5 (comments, trailing commas), then node as PM2 would."""
    _refuse(bounds.scan_text(text, toml=False), label)
    try:
        return Document(json.loads(text))
    except json.JSONDecodeError as exc:
        problems = [Problem(label, None, None, f"strict JSON: {exc.msg}", exc.lineno, exc.colno)]
    import json5  # lazily: only files that need it pay for the import

    try:
        return Document(json5.loads(text))
    except ValueError as exc:
        message, line, column = str(exc), None, None
        if where := _JSON5_WHERE.match(message):
            line, message, column = int(where.group(1)), where.group(2), int(where.group(3))
        problems.append(Problem(label, None, None, f"JSON5: {message}", line, column))
    if find_node(env.get("PATH")) is None:
        raise ConfigError(problems)
    try:
        data = _run_node(_NODE_EXPRESSION, path, label, env, what="a JS expression")
    except ConfigError as exc:
        raise ConfigError(problems + exc.problems) from None
    return Document(data)


def _read_yaml(text: str, label: str) -> Document:
    import yaml  # lazily: the CLI imports this package on every command

    try:
        _refuse(bounds.scan_yaml(text), label)
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        problem = Problem(label, None, None, f"invalid YAML: {reason}", line, column)
        raise ConfigError([problem]) from None
    return Document(data, yaml_positions(node) if node is not None else {})


def _node_missing(label: str, what: str, path: Path) -> ConfigError:
    hint = (
        f"node is needed to read {what} and was not found on PATH; "
        "convert the file to TOML or JSON (with node elsewhere: "
        f"node -p 'JSON.stringify(require(\"./{path.name}\"), null, 2)' > ecosystem.json)"
    )
    return ConfigError([Problem(label, None, None, hint)])


def _run_node(program: str, path: Path, label: str, env: Mapping[str, str], *, what: str) -> Any:
    """Evaluate PATH with node in its own folder, and return the JSON value it prints."""
    import subprocess

    node = find_node(env.get("PATH"))
    if node is None:
        raise _node_missing(label, what, path)
    absolute = path.resolve()
    try:
        run = subprocess.run(
            [node, f"--max-old-space-size={_NODE_HEAP_MB}", "-e", program, str(absolute)],
            cwd=absolute.parent,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        message = f"node did not finish evaluating it within {NODE_TIMEOUT_S:g} s"
        raise ConfigError([Problem(label, None, None, message)]) from None
    except OSError as exc:
        raise ConfigError([Problem(label, None, None, f"cannot run node: {exc}")]) from None
    if run.returncode != 0 or _MARK not in run.stdout:
        wrapped = program == _NODE_EXPRESSION
        problem = _node_problem(run.stderr, label, str(absolute), wrapped, run.returncode)
        raise ConfigError([problem])
    return json.loads(run.stdout.rsplit(_MARK, 1)[1])


def _node_problem(stderr: str, label: str, absolute: str, wrapped: bool, code: int = 1) -> Problem:
    """The error node printed, located (file:line:col) when its report names our file."""
    found = _NODE_ERROR.search(stderr)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    silent = f"exited with code {code} before printing the config, and said nothing"
    message = found.group(0) if found else (lines[-1] if lines else silent)
    line = column = None
    where = _NODE_WHERE.match(stderr)
    if where and where.group("file") == absolute:
        line = int(where.group("line"))
        column = len(where.group("pad")) + 1
        if wrapped and line == 1:
            column -= 1  # the "(" we put in front of the expression
    else:
        # A runtime error: the first stack frame in our file says where it was thrown.
        frame = next((f for f in _NODE_FRAME.finditer(stderr) if f.group("file") == absolute), None)
        if frame is not None:
            line, column = int(frame.group("line")), int(frame.group("column"))
    return Problem(label, None, None, f"node: {message}", line, column)
