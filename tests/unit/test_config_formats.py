"""Tests for reading each ecosystem format and each PM2 top-level form."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from corral.config import ConfigError, Ecosystem, find_default_config, load_ecosystem

NEEDS_NODE = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
APP_TOML = 'name = "a"\nscript = "app.py"\n'


def load(path: Path, **kwargs: Any) -> Ecosystem:
    return load_ecosystem(path, base_env={"PATH": os.environ["PATH"]}, **kwargs)


def problems_of(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, **kwargs)
    return [str(p) for p in caught.value.problems]


def names(eco: Ecosystem) -> list[str]:
    return [app.name for app in eco.apps]


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("e.toml", f"[[apps]]\n{APP_TOML}"),
        ("e.toml", f"[apps]\n{APP_TOML}"),
        ("e.toml", APP_TOML),
        ("e.json", json.dumps({"apps": [{"name": "a", "script": "app.py"}]})),
        ("e.json", json.dumps({"apps": {"name": "a", "script": "app.py"}})),
        ("e.json", json.dumps({"pm2": [{"name": "a", "script": "app.py"}]})),
        ("e.json", json.dumps([{"name": "a", "script": "app.py"}])),
        ("e.json", json.dumps({"name": "a", "script": "app.py"})),
        ("e.json", json.dumps({"name": "a", "cmd": "app.py", "deploy": {}})),
        ("e.yaml", "apps:\n  - name: a\n    script: app.py\n"),
        ("e.yml", "- name: a\n  script: app.py\n"),
        ("e.json5", "{apps: [{name: 'a', script: 'app.py',},],}"),
        ("ecosystem.conf", f"[[apps]]\n{APP_TOML}"),
        ("ecosystem.conf", '{"apps": [{"name": "a", "script": "app.py"}]}'),
    ],
)
def test_formats_and_top_level_forms(folder: Path, filename: str, text: str) -> None:
    path = folder / filename
    path.write_text(text)
    eco = load(path)
    assert names(eco) == ["a"]
    assert eco.apps[0].script == str(folder / "app.py")
    assert eco.apps[0].source == str(path) == eco.path


def test_deploy_is_kept(folder: Path) -> None:
    path = folder / "e.toml"
    path.write_text(f'[[apps]]\n{APP_TOML}\n[deploy.production]\nhost = "h"\nref = "origin/main"\n')
    assert load(path).deploy == {"production": {"host": "h", "ref": "origin/main"}}


def test_deploy_must_be_a_table(folder: Path) -> None:
    path = folder / "e.json"
    path.write_text(json.dumps({"apps": [{"script": "app.py"}], "deploy": [1]}))
    assert problems_of(path) == [f"{path}: key 'deploy': must be a table/object, not a list"]


def test_unknown_top_level_key(folder: Path) -> None:
    path = folder / "e.toml"
    path.write_text(f'[[apps]]\n{APP_TOML}\n[deplyo.production]\nhost = "h"\n')
    assert problems_of(path) == [
        f"{path}:5:2: key 'deplyo': unknown top-level key (did you mean 'deploy'?)"
    ]


@pytest.mark.parametrize(
    ("filename", "text", "where"),
    [
        ("e.toml", '[[apps]]\nname = "a"\nscript = = 1\n', ":3:10: invalid TOML: Invalid value"),
        ("e.json", '{"apps": [\n  {"name": "a",,}\n]}', ":2:16: strict JSON: Expecting"),
        ("e.yaml", "apps:\n  - name: [a\n    script: b\n", ":3:11: invalid YAML: expected ','"),
    ],
)
def test_syntax_errors_carry_line_and_column(
    folder: Path, filename: str, text: str, where: str
) -> None:
    path = folder / filename
    path.write_text(text)
    assert problems_of(path)[0].startswith(f"{path}{where}")


def test_json_failure_names_every_parser(folder: Path) -> None:
    path = folder / "e.json"
    path.write_text('{"apps": [\n  {"name": "a",, "script": "app.py"}\n]}')
    found = problems_of(path)
    assert found[0].startswith(f"{path}:2:16: strict JSON: ")
    assert found[1].startswith(f"{path}:2:")
    assert ": JSON5: " in found[1]
    if shutil.which("node"):
        assert found[2].startswith(f"{path}:2:")
        assert "node: SyntaxError" in found[2]


def test_json_with_comments_and_trailing_commas(folder: Path) -> None:
    path = folder / "e.json"
    path.write_text(
        '{\n  // PM2 files often have these\n  "apps": [{"name": "a", "script": "app.py",},],\n}'
    )
    assert names(load(path)) == ["a"]


@NEEDS_NODE
def test_json_that_only_javascript_reads(folder: Path) -> None:
    path = folder / "e.json"
    path.write_text('{"apps":[{"name":"a"+"b", "script":"app.py"}]}')
    assert names(load(path)) == ["ab"]


@NEEDS_NODE
@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("ecosystem.config.js", "module.exports = {apps: [{name: 'a', script: 'app.py'}]};"),
        (
            "ecosystem.config.cjs",
            "console.log('noise'); module.exports = [{name: 'a', script: 'app.py'}];",
        ),
        ("ecosystem.config.mjs", "export default {apps: [{name: 'a', script: 'app.py'}]};"),
        (
            "ecosystem.config.js",
            "const path = require('path');\n"
            "module.exports = {apps: [{name: path.basename('/x/a.js', '.js'), script: 'app.py'}]};",
        ),
    ],
)
def test_javascript(folder: Path, filename: str, text: str) -> None:
    path = folder / filename
    path.write_text(text)
    assert names(load(path)) == ["a"]


@NEEDS_NODE
def test_javascript_error_is_located(folder: Path) -> None:
    path = folder / "ecosystem.config.js"
    path.write_text("module.exports = {\n  apps: [{name: 'a',\n  script: 'app.py' +}]\n};\n")
    (found,) = problems_of(path)
    assert found.startswith(f"{path}:3:")
    assert "node: SyntaxError" in found


def test_javascript_without_node(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = folder / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    path = folder / "ecosystem.config.js"
    path.write_text("module.exports = {apps: []};")
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(path)
    (problem,) = caught.value.problems
    assert "node is needed to read a JS ecosystem file" in problem.message
    assert "TOML or JSON" in problem.message


def test_missing_file(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.toml") == [f"{tmp_path / 'nope.toml'}: file not found"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("apps = 3\n", "must be a list of apps or one app, not a number"),
        ("[deploy.x]\nhost = 'h'\n", "no apps"),
    ],
)
def test_bad_top_level(folder: Path, text: str, message: str) -> None:
    path = folder / "e.toml"
    path.write_text(text)
    assert any(message in found for found in problems_of(path))


def test_an_empty_apps_list_is_fine(folder: Path) -> None:
    path = folder / "e.json"
    path.write_text('{"apps": []}')
    assert load(path).apps == ()


def test_find_default_config(tmp_path: Path) -> None:
    assert find_default_config(tmp_path) is None
    (tmp_path / "ecosystem.yml").write_text("")
    assert find_default_config(tmp_path) == tmp_path / "ecosystem.yml"
    (tmp_path / "ecosystem.config.js").write_text("")
    assert find_default_config(tmp_path) == tmp_path / "ecosystem.config.js"
    (tmp_path / "corral.toml").write_text("")
    assert find_default_config(tmp_path) == tmp_path / "corral.toml"


def test_import_loads_no_parser_library() -> None:
    """The CLI imports corral.config on every command; YAML and JSON5 load on first use."""
    probe = "import sys, corral.config; print(*sorted(sys.modules))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert {"yaml", "json5", "tomllib", "subprocess"}.isdisjoint(run.stdout.split())
