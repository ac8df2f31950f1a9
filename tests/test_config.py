"""`cairn.config`: the one reader of cairn.toml and .cairn.toml, so the `[llm]` and
`[debug]` tables fail the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.config import ConfigFileError, load, read_table, read_toml
from cairn.errors import CairnError
from cairn.llm import ConfigError, load_config
from cairn.llm.recorder import load_settings


def test_a_missing_file_is_none_and_a_missing_table_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "cairn.toml"
    assert read_toml(path) is None
    assert read_table(path, "llm") is None
    path.write_text("[debug]\nrecord = false\n")
    assert read_table(path, "llm") == {}
    assert read_table(path, "debug") == {"record": False}


def test_a_file_that_is_not_toml_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cairn.toml"
    path.write_text("[llm\n")
    with pytest.raises(ConfigFileError, match="invalid TOML") as caught:
        load(tmp_path, project_dir=tmp_path)
    assert isinstance(caught.value, CairnError)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_table_that_is_not_a_table_is_the_same_error_in_every_layer(tmp_path: Path) -> None:
    path = tmp_path / "cairn.toml"
    path.write_text("llm = 1\ndebug = 2\n")
    files = load(tmp_path, project_dir=tmp_path)
    with pytest.raises(ConfigFileError, match="must be a table"):
        files.table("llm")
    # the llm layer and the recorder say the same thing, as their own ConfigError
    with pytest.raises(ConfigError) as from_llm:
        load_config(files)
    with pytest.raises(ConfigError) as from_recorder:
        load_settings(files)
    assert "[llm] must be a table" in str(from_llm.value)
    assert "[debug] must be a table" in str(from_recorder.value)


def test_the_files_are_read_once_and_every_layer_configures_from_that_reading(
    tmp_path: Path,
) -> None:
    config, project = tmp_path / "cfg", tmp_path / "proj"
    config.mkdir()
    project.mkdir()
    (config / "cairn.toml").write_text('[llm]\ndefault = "openai:m"\n[debug]\nrecord = true\n')
    (project / ".cairn.toml").write_text("[debug]\nrecord = false\n")
    files = load(config, project_dir=project)
    # edits after the reading change nothing: the layers see the files as read
    (config / "cairn.toml").write_text("[llm\n")
    (project / ".cairn.toml").unlink()
    llm = load_config(files)
    assert llm.default == "openai:m" and llm.files is files
    settings = load_settings(files, env={})
    assert not settings.record and settings.decided_by.startswith("project")
    assert load(tmp_path / "none", project_dir=tmp_path / "none").table("llm") is None


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "cairn.toml").mkdir()
    with pytest.raises(ConfigFileError, match="cannot read"):
        read_toml(tmp_path / "cairn.toml")
