"""env_file: .env files as layers of an app's environment, their errors, and their masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from corral.config import ConfigError, load_ecosystem
from tests.helpers import Corral

BASE = {"PATH": "/usr/bin:/bin", "HOME_DIR": "/home/u"}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problems(path: Path, **kwargs: object) -> list[tuple[str | None, str | None, str]]:
    with pytest.raises(ConfigError) as caught:
        load_ecosystem(path, base_env=BASE, **kwargs)  # type: ignore[arg-type]
    return [(p.app, p.key, p.message) for p in caught.value.problems]


def test_layers_top_then_app_files_then_profile_file_then_env_then_env_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "project"
    write(folder, "shared.env", "A=shared\nB=shared\nC=shared\nD=shared\nE=shared\nF=shared\n")
    write(folder, ".env", "B=app\nC=app\nD=app\nE=app\nF=app\n")
    write(folder, "local.env", "C=local\nD=local\nE=local\nF=local\n")
    write(folder, ".env.production", "D=prodfile\nE=prodfile\nF=prodfile\n")
    path = write(
        folder,
        "corral.toml",
        'env_file = "shared.env"\n[[apps]]\nname = "w"\nscript = "sleep"\n'
        'env_file = [".env", "local.env", "-absent.env"]\n'
        'env_file_production = ".env.production"\n'
        'env = { E = "env", F = "env" }\nenv_production = { F = "env_production" }\n',
    )
    monkeypatch.chdir(tmp_path)  # paths are the file's folder's, not the shell's
    [spec] = load_ecosystem(path, base_env=BASE, env_profile="production").apps
    got = {k: spec.env[k] for k in "ABCDEF"}
    assert got == {
        "A": "shared",
        "B": "app",
        "C": "local",
        "D": "prodfile",
        "E": "env",
        "F": "env_production",
    }
    assert spec.secret_env == ("A", "B", "C", "D")  # E and F were set by env tables
    assert spec.env_file == (
        str(folder / "shared.env"),
        str(folder / ".env"),
        str(folder / "local.env"),
        f"-{folder / 'absent.env'}",
        str(folder / ".env.production"),
    )
    [plain] = load_ecosystem(path, base_env=BASE).apps
    assert plain.env["D"] == "local"  # no profile: its file is not read
    assert plain.env["HOME_DIR"] == "/home/u"


def test_values_interpolate_earlier_lines_and_the_environment_but_not_single_quotes(
    tmp_path: Path,
) -> None:
    write(tmp_path, ".env", "USER_=ann\nURL=db://${USER_}@${HOME_DIR}\nLIT='${USER_}'\nBARE\n")
    path = write(tmp_path, "c.toml", '[[apps]]\nname = "w"\nscript = "sleep"\nenv_file = ".env"\n')
    [spec] = load_ecosystem(path, base_env=BASE).apps
    assert spec.env["URL"] == "db://ann@/home/u"
    assert spec.env["LIT"] == "${USER_}"
    assert "BARE" not in spec.env  # a key without a value sets nothing


def test_a_missing_file_is_an_error_naming_the_file_the_app_and_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.toml",
        '[[apps]]\nname = "w"\nscript = "sleep"\nenv_file = ["-opt.env", ".env"]\n',
    )
    [(app, key, message)] = problems(path)
    assert (app, key) == ("w", "env_file")
    assert str(tmp_path / ".env") in message and "not found" in message
    assert "'-.env'" in message  # says how to make it optional


def test_a_missing_top_level_file_is_reported_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.toml",
        'env_file = "gone.env"\n[[apps]]\nname = "a"\nscript = "sleep"\n'
        '[[apps]]\nname = "b"\nscript = "sleep"\n',
    )
    [(app, key, message)] = problems(path)
    assert (app, key) == (None, "env_file")
    assert str(tmp_path / "gone.env") in message


def test_a_line_the_parser_cannot_read_is_an_error_with_its_line(tmp_path: Path) -> None:
    write(tmp_path, ".env", "GOOD=1\nthis is not a binding\n")
    path = write(tmp_path, "c.toml", '[[apps]]\nname = "w"\nscript = "sleep"\nenv_file = ".env"\n')
    [(_app, key, message)] = problems(path)
    assert key == "env_file"
    assert f"{tmp_path / '.env'}:2" in message


@pytest.mark.parametrize("value", ['""', '"-"', "[1.5, true]", "{ a = 1 }"])
def test_bad_values_are_refused(tmp_path: Path, value: str) -> None:
    path = write(
        tmp_path, "c.toml", f'[[apps]]\nname = "w"\nscript = "sleep"\nenv_file = {value}\n'
    )
    [(app, key, _message)] = problems(path)
    assert (app, key) == ("w", "env_file")


def test_env_file_is_not_a_profile(tmp_path: Path) -> None:
    write(tmp_path, ".env", "A=1\n")
    path = write(tmp_path, "c.toml", '[[apps]]\nname = "w"\nscript = "sleep"\nenv_file = ".env"\n')
    [(_app, _key, message)] = problems(path, env_profile="file")
    assert "unknown env profile 'file'" in message


def test_corral_config_masks_file_values_unless_asked(tmp_path: Path, home: Path) -> None:
    write(tmp_path, ".env", "TOKEN=s3cr3t-value\n")
    path = write(
        tmp_path,
        "c.toml",
        '[[apps]]\nname = "w"\nscript = "sleep"\nenv_file = ".env"\nenv = { PLAIN = "shown" }\n',
    )
    corral = Corral(home)
    for argv in (["config", str(path)], ["config", str(path), "--json"]):
        out = corral.ok(*argv)
        assert "TOKEN" in out and "s3cr3t-value" not in out
        assert "shown" in out
    assert "TOKEN=s3cr3t-value" in corral.ok("config", str(path), "--show-secrets")


def test_corral_config_exits_2_on_a_missing_file(tmp_path: Path, home: Path) -> None:
    path = write(tmp_path, "c.toml", '[[apps]]\nname = "w"\nscript = "sleep"\nenv_file = ".env"\n')
    code, _out, err = Corral(home)("config", str(path))
    assert code == 2
    assert "app 'w'" in err and "env_file" in err and str(tmp_path / ".env") in err
