"""`cairn.config`: the one reader of cairn.toml and .cairn.toml, so the `[llm]` and
`[debug]` tables fail the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.config import ConfigFileError, read_table, read_toml
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


@pytest.mark.parametrize(
    ("text", "message"),
    [("[llm\n", "invalid TOML"), ("llm = 1\ndebug = 2\n", "must be a table")],
)
def test_a_bad_file_is_one_clear_error_for_every_table(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "cairn.toml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=message) as caught:
        read_table(path, "llm")
    assert isinstance(caught.value, CairnError)
    assert str(caught.value).startswith(f"{path}: ")
    # the llm layer and the recorder say the same thing, as their own ConfigError
    with pytest.raises(ConfigError) as from_llm:
        load_config(tmp_path)
    with pytest.raises(ConfigError) as from_recorder:
        load_settings(tmp_path, project_dir=tmp_path)
    assert message in str(from_llm.value)
    assert message in str(from_recorder.value)


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "cairn.toml").mkdir()
    with pytest.raises(ConfigFileError, match="cannot read"):
        read_toml(tmp_path / "cairn.toml")
