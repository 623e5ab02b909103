"""Which changed paths count for `watch`: defaults, globs, absolute paths, PM2's spellings."""

from __future__ import annotations

import pytest

from corral.engine.watch import DEFAULT_IGNORE, Rule, Watcher, ignored, relative


@pytest.mark.parametrize(
    ("rel", "patterns", "expected"),
    [
        (".git/index", DEFAULT_IGNORE, True),
        ("src/__pycache__/a.cpython-311.pyc", DEFAULT_IGNORE, True),
        ("node_modules/x/index.js", DEFAULT_IGNORE, True),
        ("out.log", DEFAULT_IGNORE, True),
        ("src/.app.py.swp", DEFAULT_IGNORE, True),
        ("src/app.py", DEFAULT_IGNORE, False),
        ("src/gen/a.py", ("src/gen",), True),
        ("src/gen/a.py", ("src/gen/",), True),
        ("src/generated.py", ("src/gen",), False),
        ("build/out.js", ("build/*.js",), True),
        ("a/b/cache/x", ("**/cache",), True),
        ("data/x.db", ("./data",), True),
        (".gitignore", ("\\.git",), False),  # PM2's regex-ish "\\.git" is the name .git
        (".git/HEAD", ("\\.git",), True),
    ],
)
def test_ignored(rel: str, patterns: tuple[str, ...], expected: bool) -> None:
    assert ignored(rel, "/root/" + rel, patterns) is expected


def test_absolute_pattern_ignores_a_subtree() -> None:
    assert ignored("logs/a.txt", "/srv/app/logs/a.txt", ("/srv/app/logs",))
    assert not ignored("logs2/a.txt", "/srv/app/logs2/a.txt", ("/srv/app/logs",))


def test_relative() -> None:
    assert relative("/srv/app/src/a.py", "/srv/app") == "src/a.py"
    assert relative("/srv/app2/a.py", "/srv/app") is None
    assert relative("/srv/app/conf.toml", "/srv/app/conf.toml") == "conf.toml"


def test_globs_apply_relative_to_cwd_too() -> None:
    rule = Rule("web", ("/srv/app/src",), ("src/gen",), "/srv/app", 1.0)
    assert not Watcher._matches(rule, "/srv/app/src/gen/a.py")
    assert Watcher._matches(rule, "/srv/app/src/main.py")
    assert not Watcher._matches(rule, "/srv/other/main.py")
