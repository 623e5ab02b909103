"""An ecosystem.config.js that exits or throws while read: node's message and file:line:col."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from corral.config import ConfigError, load_ecosystem

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def problem(path: Path) -> tuple[str, int | None, int | None]:
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(path)
    first = caught.value.problems[0]
    return first.message, first.line, first.column


def test_process_exit_while_read_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ecosystem.config.js"
    path.write_text(
        "module.exports = { apps: [{ name: 'a', script: 'a.js' }] };\nprocess.exit(0);\n"
    )
    message, line, column = problem(path)
    assert "process.exit(0)" in message and "failed without a message" not in message
    assert (line, column) == (2, 9)


def test_runtime_error_keeps_nodes_file_line_column(tmp_path: Path) -> None:
    path = tmp_path / "ecosystem.config.js"
    path.write_text(
        "const x = 1;\nfunction f() {\n  return missing.apps;\n}\nmodule.exports = f();\n"
    )
    message, line, column = problem(path)
    assert message == "node: ReferenceError: missing is not defined"
    assert (line, column) == (3, 3)  # what node's own stack says


def test_esm_error_is_located_too(tmp_path: Path) -> None:
    path = tmp_path / "ecosystem.config.mjs"
    path.write_text("export default { apps: [] };\nnull.x;\n")
    message, line, column = problem(path)
    assert "TypeError" in message and (line, column) == (2, 6)
