"""The `[bot]` table: defaults, every key, and one clear error for each malformed one."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.bot import ConfigError, bot_settings, parse_duration
from cairn.config import load


def _settings(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    (tmp_path / "cairn.toml").write_text(text)
    return bot_settings(load(tmp_path, project_dir=tmp_path))


def test_defaults_when_the_file_says_nothing(tmp_path: Path) -> None:
    s = bot_settings(load(tmp_path, project_dir=tmp_path))
    assert s.projects == () and s.api == "https://api.github.com" and s.every_s == 120
    assert s.related.threshold is None and s.related.max_results == 10


def test_every_key(tmp_path: Path) -> None:
    s = _settings(
        tmp_path,
        """
[bot]
projects = ["golang/go", "o/r"]
api = "http://127.0.0.1:9/"
every = "5m"
approve = ["commentfix"]
[bot.related]
threshold = 0.7
window_days = 3
max_results = 5
skip_title_prefix = ["[release]"]
skip_body_contains = ["<!-- no related -->"]
[[bot.commentfix]]
replace_text = "cancelled"
with = "canceled"
""",
    )
    assert s.projects == ("golang/go", "o/r") and s.api == "http://127.0.0.1:9"
    assert s.every_s == 300 and s.approve == {"commentfix"}
    assert (s.related.threshold, s.related.window_days, s.related.max_results) == (0.7, 3, 5)
    assert s.related.skip_title_prefix == ("[release]",)
    assert s.commentfix == ({"replace_text": "cancelled", "with": "canceled"},)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[bot]\nprojects = ["nope"]\n', "is not a project"),
        ('[bot]\nprojects = "o/r"\n', "projects must be a list of strings"),
        ('[bot]\napi = "ftp://x"\n', "api must be an http"),
        ('[bot]\nevery = "soon"\n', "is not a duration"),
        ('[bot]\napprove = ["everything"]\n', "unknown job 'everything'"),
        ("[bot.related]\nthreshold = 2\n", "threshold must be a number"),
        ("[bot]\nrelated = 1\n", "related must be a table"),
        ("[bot]\ncommentfix = 1\n", "commentfix must be an array of tables"),
        ("bot = 1\n", "[bot] must be a table"),
    ],
)
def test_malformed_settings_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, text)
    assert message in str(caught.value) and str(tmp_path / "cairn.toml") in str(caught.value)


def test_durations() -> None:
    assert [parse_duration(x) for x in ("90", "90s", "2m", "1h", 30)] == [90, 90, 120, 3600, 30]
    with pytest.raises(ConfigError):
        parse_duration("0s")
