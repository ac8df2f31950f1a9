"""Frontmatter in YAML, TOML and JSON: parsed fields, verbatim text, and errors kept."""

from __future__ import annotations

import pytest

from cairn.notebook import parse, serialize, split_frontmatter

ULID = "01HF7BT3HD84GWTQB8VY8ZJGJW"

YAML = f"""---
shell: bash
cwd: ./scripts
skipPrompts: true
runme:
  id: {ULID}
---

```sh
echo
```
"""

TOML = f"""+++
shell = "bash"
cwd = "./scripts"
skipPrompts = true

[runme]
id = "{ULID}"
+++

```sh
echo
```
"""

JSON = f"""{{
  "shell": "bash",
  "cwd": "./scripts",
  "skipPrompts": true,
  "runme": {{"id": "{ULID}"}}
}}

```sh
echo
```
"""


@pytest.mark.parametrize(
    ("text", "fmt"), [(YAML, "yaml"), (TOML, "toml"), (JSON, "json")], ids=["yaml", "toml", "json"]
)
def test_frontmatter_fields_are_read_in_every_format(text: str, fmt: str) -> None:
    nb = parse(text)
    fm = nb.frontmatter
    assert fm is not None
    assert fm.format == fmt
    assert fm.error is None
    assert fm.shell == "bash"
    assert fm.cwd == "./scripts"
    assert fm.skip_prompts is True
    assert fm.document_id == ULID
    assert serialize(nb) == text


@pytest.mark.parametrize(
    ("text", "line"), [(YAML, 9), (TOML, 10), (JSON, 8)], ids=["yaml", "toml", "json"]
)
def test_cell_line_counts_frontmatter_lines(text: str, line: int) -> None:
    cell = parse(text).code_cells()[0]
    assert cell.line == line
    assert text.splitlines()[line - 1] == "```sh"


def test_missing_fields_have_safe_defaults() -> None:
    fm = parse("---\ntitle: x\n---\n").frontmatter
    assert fm is not None
    assert (fm.shell, fm.cwd, fm.skip_prompts, fm.document_id, fm.runme) == (
        None,
        None,
        False,
        None,
        {},
    )


def test_skip_prompts_false_is_false() -> None:
    fm = parse("---\nskipPrompts: false\n---\n").frontmatter
    assert fm is not None
    assert fm.skip_prompts is False


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("---\ntitle: [unclosed\n---\n\n# Body\n", "yaml", "invalid YAML frontmatter"),
        ("+++\nshell = \n+++\n\n# Body\n", "toml", "invalid TOML frontmatter"),
        ("---\n- a\n- b\n---\n\n# Body\n", "yaml", "not a mapping"),
    ],
    ids=["yaml-syntax", "toml-syntax", "yaml-list"],
)
def test_invalid_frontmatter_is_kept_verbatim_with_error(text: str, fmt: str, message: str) -> None:
    nb = parse(text)
    fm = nb.frontmatter
    assert fm is not None
    assert fm.format == fmt
    assert fm.data is None
    assert fm.error is not None
    assert message in fm.error
    assert fm.raw == text[: text.index("\n\n") + 1]
    assert serialize(nb) == text
    assert [c.source for c in nb.cells] == ["# Body\n"]


def test_invalid_frontmatter_fields_are_empty_not_errors() -> None:
    fm = parse("---\nshell: [\n---\n").frontmatter
    assert fm is not None
    assert (fm.shell, fm.cwd, fm.skip_prompts, fm.document_id) == (None, None, False, None)


def test_frontmatter_without_closing_delimiter_is_markdown() -> None:
    text = "---\nshell: bash\n\n```sh\necho\n```\n"
    nb = parse(text)
    assert nb.frontmatter is None
    assert nb.code_cells()[0].line == 4
    assert serialize(nb) == text


def test_thematic_break_after_text_is_not_frontmatter() -> None:
    nb = parse("Intro\n\n---\n\nmore\n\n---\n")
    assert nb.frontmatter is None


def test_json_object_followed_by_text_on_its_line_is_not_frontmatter() -> None:
    fm, body = split_frontmatter('{"a": 1} and words\n')
    assert fm is None
    assert body == '{"a": 1} and words\n'


def test_yaml_frontmatter_with_crlf_keeps_newline() -> None:
    text = "---\r\nshell: zsh\r\n---\r\n\r\n# T\r\n"
    nb = parse(text)
    assert nb.frontmatter is not None
    assert nb.frontmatter.newline == "\r\n"
    assert nb.frontmatter.shell == "zsh"
    assert serialize(nb) == text


def test_bom_before_frontmatter_is_kept_and_frontmatter_still_found() -> None:
    text = "\ufeff---\nshell: fish\n---\n# T\n"
    nb = parse(text)
    assert nb.bom
    assert nb.frontmatter is not None
    assert nb.frontmatter.shell == "fish"
    assert serialize(nb) == text


def test_empty_yaml_frontmatter_is_an_empty_mapping() -> None:
    fm = parse("---\n---\n").frontmatter
    assert fm is not None
    assert (fm.data, fm.error) == ({}, None)
