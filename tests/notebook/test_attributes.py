"""Fence info strings: language, free words and Runme attributes in JSON or HTML form."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cairn.notebook import Cell, format_attributes, parse, parse_info, serialize


def _only_code(text: str) -> Cell:
    cells = parse(text).code_cells()
    assert len(cells) == 1
    return cells[0]


def test_json_attributes_parse_to_strings() -> None:
    info = parse_info('sh {"name":"build","cwd":"/srv"}')
    assert info.language == "sh"
    assert info.form == "json"
    assert info.attributes == {"name": "build", "cwd": "/srv"}
    assert info.has_attributes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("false", "false"),
        ("true", "true"),
        ("30", "30"),
        ("1.5", "1.5"),
        ("null", ""),
        ('["ci", 1]', '["ci",1]'),
        ('{"a": 1}', '{"a":1}'),
        ('"ünï"', "ünï"),
    ],
)
def test_json_non_string_values_are_stringified(raw: str, expected: str) -> None:
    info = parse_info('sh {"key": ' + raw + "}")
    assert info.attributes == {"key": expected}
    assert all(isinstance(v, str) for v in info.attributes.values())


def test_html_attributes_are_split_on_spaces_as_runme_does() -> None:
    # Runme: `first=` is an empty value, and `second=2` is its own pair.
    info = parse_info("sh {name=echo first= second=2}")
    assert info.form == "html"
    assert info.attributes == {"name": "echo", "first": "", "second": "2"}
    assert info.warnings == []


def test_html_attribute_quotes_are_not_special_and_say_so() -> None:
    # Runme has no quoting in this form: the quote is part of the value, and the
    # words after a space are separate items (without `=`, ignored).
    info = parse_info("""sh { name=deploy desc="two words" cwd='/a b' }""")
    assert info.attributes == {"name": "deploy", "desc": '"two', "cwd": "'/a"}
    quote_warnings = [w for w in info.warnings if "quotes are not special" in w]
    assert len(quote_warnings) == 2
    assert any("'words\"'" in w and "ignored" in w for w in info.warnings)


def test_html_item_without_value_is_ignored_with_a_warning() -> None:
    info = parse_info("sh { name=a background }")
    assert info.attributes == {"name": "a"}
    (warning,) = info.warnings
    assert "'background'" in warning and "background=true" in warning


def test_html_value_stops_at_a_second_equals_sign_as_in_runme() -> None:
    info = parse_info("sh { name=a cmd=x=y }")
    assert info.attributes == {"name": "a", "cmd": "x"}
    (warning,) = info.warnings
    assert "second '='" in warning


def test_unknown_attribute_keys_are_kept_in_order() -> None:
    json_info = parse_info('sh {"zzz":"1","name":"n","x-custom":"2","aaa":"3"}')
    html_info = parse_info("sh { frobnicate=yes name=n a.b=c }")
    assert list(json_info.attributes) == ["zzz", "name", "x-custom", "aaa"]
    assert list(html_info.attributes) == ["frobnicate", "name", "a.b"]


def test_extra_words_in_info_string_are_kept_as_rest() -> None:
    info = parse_info('sh title="x" linenums {"name":"a"}')
    assert info.language == "sh"
    assert info.rest == 'title="x" linenums'
    assert info.attributes == {"name": "a"}


def test_language_glued_to_attributes_is_split() -> None:
    info = parse_info('sh{"name":"a"}')
    assert (info.language, info.attributes) == ("sh", {"name": "a"})


def test_attributes_without_language() -> None:
    info = parse_info('{"name":"a"}')
    assert (info.language, info.attributes, info.form) == ("", {"name": "a"}, "json")


def test_unclosed_attribute_block_is_kept_as_text_with_a_warning() -> None:
    info = parse_info('sh {name="x" foo')
    assert (info.attributes, info.has_attributes) == ({}, False)
    assert info.rest == '{name="x" foo'
    (warning,) = info.warnings
    assert "never closed" in warning


@pytest.mark.parametrize(
    ("info_string", "attributes", "tail"),
    [
        ("sh {not json} trailing", {}, "trailing"),
        ("sh {a=1 } {b=2}", {"a": "1"}, "{b=2}"),
        ('sh {"name":"a"} # comment', {"name": "a"}, "# comment"),
    ],
)
def test_attributes_end_at_the_first_closing_brace_as_in_runme(
    info_string: str, attributes: dict[str, str], tail: str
) -> None:
    info = parse_info(info_string)
    assert info.attributes == attributes
    assert info.tail == tail


def test_malformed_attributes_round_trip_when_cell_source_changes() -> None:
    cell_text = "```sh {name: x\necho\n```\n"
    nb = parse(cell_text)
    nb.code_cells()[0].source = "echo changed\n"
    assert serialize(nb) == "```sh {name: x\necho changed\n```\n"


def test_format_attributes_json_is_compact() -> None:
    assert format_attributes({"name": "a", "n": "1"}, "json") == '{"name":"a","n":"1"}'


def test_format_attributes_html_form_only_when_runme_reads_it_back() -> None:
    assert format_attributes({"name": "a", "e": ""}, "html") == "{ name=a e= }"
    # Runme cannot read spaces, `=`, braces or leading quotes back from key=value.
    for value in ("two words", "a=b", "x}", '"q'):
        text = format_attributes({"name": "a", "d": value}, "html")
        assert json.loads(text) == {"name": "a", "d": value}


def test_interactive_defaults_to_true() -> None:
    assert _only_code("```sh\necho\n```\n").interactive is True


@pytest.mark.parametrize(
    "value", ['{"interactive":false}', '{"interactive":"false"}', "{ interactive=False }"]
)
def test_interactive_false_in_any_form_is_false(value: str) -> None:
    assert _only_code(f"```sh {value}\necho\n```\n").interactive is False


def test_attribute_form_is_kept_per_cell_when_edited() -> None:
    text = '```sh {"name":"j"}\necho j\n```\n\n```sh { name=h }\necho h\n```\n'
    nb = parse(text)
    json_cell, html_cell = nb.code_cells()
    json_cell.attributes["cwd"] = "/tmp/a"
    html_cell.attributes["cwd"] = "/tmp/a"

    out = serialize(nb)

    assert out == (
        '```sh {"name":"j","cwd":"/tmp/a"}\necho j\n```\n\n'
        "```sh { name=h cwd=/tmp/a }\necho h\n```\n"
    )
    again = parse(out).code_cells()
    assert [c.attr_form for c in again] == ["json", "html"]
    assert [c.attributes for c in again] == [
        {"name": "j", "cwd": "/tmp/a"},
        {"name": "h", "cwd": "/tmp/a"},
    ]


def test_html_attributes_with_a_value_runme_cannot_read_are_written_as_json() -> None:
    nb = parse("```sh { name=h }\necho h\n```\n")
    nb.code_cells()[0].attributes["cwd"] = "/tmp/a b"
    out = serialize(nb)
    assert out == '```sh {"name":"h","cwd":"/tmp/a b"}\necho h\n```\n'
    assert parse(out).code_cells()[0].attributes == {"name": "h", "cwd": "/tmp/a b"}


def test_rest_words_survive_an_attribute_edit() -> None:
    nb = parse('```sh some words {"name":"a"}\necho\n```\n')
    nb.code_cells()[0].attributes["name"] = "b"
    assert serialize(nb).splitlines()[0] == '```sh some words {"name":"b"}'


def test_attribute_value_with_backtick_keeps_the_cell_a_code_cell() -> None:
    # CommonMark: a backtick fence's info string may not contain backticks, so
    # writing one there turns the whole cell into a paragraph.
    nb = parse('```sh {"name":"a"}\nmake\n```\n')
    nb.code_cells()[0].attributes["description"] = "runs `make`"

    again = parse(serialize(nb)).code_cells()

    assert len(again) == 1
    assert again[0].attributes["description"] == "runs `make`"
    assert again[0].source == "make\n"


_KEYS = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
# Printable text without line breaks or backticks (backticks are covered above).
_VALUES = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
        blacklist_characters="`\x85",
    ),
    max_size=12,
)


@given(
    attrs=st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=4),
    form=st.sampled_from(["json", "html"]),
)
def test_any_attribute_values_survive_render_and_reparse(
    attrs: dict[str, str], form: Literal["json", "html"]
) -> None:
    nb = parse("```sh\necho\n```\n")
    cell = nb.code_cells()[0]
    cell.attributes = dict(attrs)
    cell.attr_form = form

    again = parse(serialize(nb)).code_cells()

    assert len(again) == 1
    assert again[0].attributes == attrs
    assert again[0].source == "echo\n"
