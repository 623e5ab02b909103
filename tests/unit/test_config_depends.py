"""depends_on in the config: its two spellings, its conditions, unknown names and cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.config import ConfigError, load_ecosystem
from corral.config.depends import cycles
from tests.helpers import Corral


def apps(tmp_path: Path, *tables: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text("".join(f'[[apps]]\nscript = "sleep"\n{table}\n' for table in tables))
    return path


def problems(path: Path, **kwargs: object) -> list[tuple[str | None, str | None, str]]:
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(path, **kwargs)  # type: ignore[arg-type]
    return [(p.app, p.key, p.message) for p in caught.value.problems]


def test_a_table_keeps_conditions_and_a_list_means_ready(tmp_path: Path) -> None:
    path = apps(
        tmp_path,
        'name = "web"\ndepends_on = { db = "ready", migrate = "completed_successfully" }',
        'name = "worker"\ndepends_on = ["db"]',
        'name = "db"',
        'name = "migrate"\nautorestart = false\ndepends_on = { db = "started" }',
    )
    eco = load_ecosystem(path)
    got = {spec.name: spec.depends_on for spec in eco.apps}
    assert got == {
        "web": {"db": "ready", "migrate": "completed_successfully"},
        "worker": {"db": "ready"},
        "db": {},
        "migrate": {"db": "started"},
    }
    assert not [w for w in eco.warnings if w.key == "depends_on"]  # enforced: nothing to say


def test_an_unknown_condition_is_refused_with_the_choices(tmp_path: Path) -> None:
    path = apps(tmp_path, 'name = "web"\ndepends_on = { db = "healthy" }', 'name = "db"')
    [(app, key, message)] = problems(path)
    assert (app, key) == ("web", "depends_on")
    assert "completed_successfully" in message and "'healthy'" in message


def test_an_unknown_name_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    path = apps(tmp_path, 'name = "web"\ndepends_on = ["dbb"]', 'name = "db"')
    [(app, key, message)] = problems(path)
    assert (app, key) == ("web", "depends_on")
    assert "'dbb'" in message and "did you mean 'db'" in message


def test_a_cycle_is_an_error_naming_the_cycle(tmp_path: Path) -> None:
    path = apps(
        tmp_path,
        'name = "web"\ndepends_on = ["db"]',
        'name = "db"\ndepends_on = { web = "started" }',
        'name = "solo"\ndepends_on = ["solo"]',
    )
    found = problems(path)
    assert ("web", "depends_on") in [(a, k) for a, k, _ in found]
    assert any("web -> db -> web" in message for _, _, message in found)
    assert any("solo -> solo" in message for _, _, message in found)
    assert len(found) == 2  # each cycle once, not once per app in it


def test_only_still_knows_the_apps_left_out(tmp_path: Path) -> None:
    path = apps(tmp_path, 'name = "web"\ndepends_on = ["db"]', 'name = "db"')
    [spec] = load_ecosystem(path, only=["web"]).apps
    assert spec.depends_on == {"db": "ready"}


def test_cycles_finds_a_long_one_once() -> None:
    graph = {"a": {"b": "ready"}, "b": {"c": "ready"}, "c": {"a": "ready"}, "d": {"a": "ready"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_start_exits_2_on_a_cycle_and_starts_nothing(tmp_path: Path, home: Path) -> None:
    path = apps(tmp_path, 'name = "web"\ndepends_on = ["db"]', 'name = "db"\ndepends_on = ["web"]')
    code, _out, err = Corral(home)("start", str(path))
    assert code == 2
    assert "web -> db -> web" in err
    assert not (home / "rpc.sock").exists()  # no daemon was started
