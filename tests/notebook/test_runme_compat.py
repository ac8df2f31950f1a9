"""Runme's and Foyle's own documents read as Runme reads them (issue 17).

Frontmatter with dates, fences left open at the end of the file, ids added without
touching other bytes, Runme's key=value attributes, which blocks are cells and how
they are described, and warnings for attributes Runme would read otherwise.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from cairn.notebook import (
    CellNotRunnableError,
    NotebookError,
    apply_identity,
    is_ulid,
    parse,
    render_session,
    select_cells,
    serialize,
    to_json,
)

ULID_RE = r"[0-9A-HJKMNP-TV-Z]{26}"

# --- frontmatter: any valid YAML or TOML becomes valid JSON ----------------------------

RUNME_SESSION = """---
date: 2024-05-10
runme:
  id: 01HJQ2ZK2GDM7QHRW2SBKD1EX4
  version: v2.0
  document:
    relativePath: README.md
  session:
    id: 01HJQ30GQZWCV8FBMNCPRXHC0P
    updated: 2023-12-28 15:16:06-05:00
---

# Session

```sh {"id":"01HJQ30GR0MWCQ09C55N30JXT5","name":"hi"}
echo hi

# Ran on 2023-12-28 15:16:05-05:00 for 19ms exited with 0
hi
```
"""


def _strict_json(value: object) -> object:
    return json.loads(json.dumps(value, allow_nan=False))


def test_yaml_dates_and_datetimes_become_iso_strings_in_json() -> None:
    data = to_json(parse(RUNME_SESSION))["frontmatter"]["data"]
    assert data["date"] == "2024-05-10"
    assert data["runme"]["session"]["updated"] == "2023-12-28T15:16:06-05:00"
    assert _strict_json(data) == data


def test_toml_dates_times_and_datetimes_become_iso_strings_in_json() -> None:
    text = "+++\nodt = 1979-05-27T07:32:00-08:00\nld = 1979-05-27\nlt = 07:32:00\n+++\n\n# T\n"
    data = to_json(parse(text))["frontmatter"]["data"]
    assert data == {"odt": "1979-05-27T07:32:00-08:00", "ld": "1979-05-27", "lt": "07:32:00"}


def test_any_yaml_value_becomes_json() -> None:
    text = (
        "---\n"
        "bin: !!binary aGk=\n"
        "set: !!set {b, a}\n"
        "nan: .nan\n"
        "inf: -.inf\n"
        "2024-01-02: a date key\n"
        "3: an int key\n"
        "null: a null key\n"
        "loop: &loop [1, *loop]\n"
        "---\n"
    )
    data = to_json(parse(text))["frontmatter"]["data"]
    assert _strict_json(data) == data
    assert data["bin"] == "aGk="
    assert data["set"] == ["a", "b"]
    assert (data["nan"], data["inf"]) == ("nan", "-inf")
    assert data["2024-01-02"] == "a date key"
    assert (data["3"], data["null"]) == ("an int key", "a null key")
    assert data["loop"] == [1, None]


def test_yaml_aliases_that_expand_exponentially_are_an_error_not_a_hang() -> None:
    lines = ["---", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    nb = parse("\n".join([*lines, "---", "# T", ""]))
    fm = to_json(nb)["frontmatter"]
    assert fm["data"] is None
    assert "aliases" in fm["error"]


@pytest.mark.parametrize("fmt", ["yaml", "toml", "json"])
def test_frontmatter_nested_too_deeply_is_an_error_not_a_crash(fmt: str) -> None:
    depth = 20_000
    body = {
        "yaml": "---\na: " + "[" * depth + "]" * depth + "\n---\n",
        "toml": "+++\na = " + "[" * depth + "]" * depth + "\n+++\n",
        "json": '{"a": ' + "[" * depth + "]" * depth + "}\n",
    }[fmt]
    nb = parse(body + "\n# T\n")
    assert serialize(nb) == body + "\n# T\n"
    if nb.frontmatter is not None:
        assert nb.frontmatter.error is not None
    json.dumps(to_json(nb))


def test_session_outputs_can_be_written_for_a_runme_session_file() -> None:
    out = render_session(RUNME_SESSION, [], "01HJQ40000000000000000000S", "README.md", NOW)
    fm = parse(out).frontmatter
    assert fm is not None and fm.error is None
    assert fm.runme["session"]["id"] == "01HJQ30GQZWCV8FBMNCPRXHC0P"  # existing ids are kept


NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


# --- a fence open at the end of the file ----------------------------------------------


def test_fence_open_at_end_of_file_is_a_cell_and_one_warning() -> None:
    text = "# T\n\n```sh\necho one\n\n## not a heading\n"
    nb = parse(text)
    (cell,) = nb.code_cells()
    assert cell.source == "echo one\n\n## not a heading\n"
    assert serialize(nb) == text
    (diagnostic,) = nb.diagnostics
    assert diagnostic.line == 3
    assert "never closed" in diagnostic.message


def test_fence_closed_by_its_container_is_not_warned_about() -> None:
    nb = parse("> ```sh\n> echo\n\nafter\n")
    assert nb.code_cells()[0].source == "echo\n"
    assert nb.diagnostics == []


# --- adding an id changes only the id ---------------------------------------------------


def _only_id_added(text: str, out: str, before: str, after_re: str) -> str:
    """Assert `out` is `text` with the line `before` replaced by one matching `after_re`."""
    head, tail = text.split(before, 1)
    assert out.startswith(head) and out.endswith(tail)
    changed = out[len(head) : len(out) - len(tail)]
    m = re.fullmatch(after_re.replace("ULID", f"({ULID_RE})"), changed)
    assert m is not None, changed
    return m.group(1)


@pytest.mark.parametrize(
    ("opening", "expected"),
    [
        ('```sh {"name": "generate"}', '```sh {"name": "generate", "id": "ULID"}'),
        ('```sh { "name": "x" }', '```sh { "name": "x", "id": "ULID" }'),
        (
            '```sh {"name":"x","interactive":true}',
            '```sh {"name":"x","interactive":true,"id":"ULID"}',
        ),
        ("```sh { name=b }", "```sh { name=b id=ULID }"),
        ("```sh {name=echo first= second=2}", "```sh {name=echo first= second=2 id=ULID}"),
        ("```sh", '```sh {"id":"ULID"}'),
        ("```sh   ", '```sh {"id":"ULID"}   '),
        ("```", '``` {"id":"ULID"}'),
        ("```sh title=x", '```sh title=x {"id":"ULID"}'),
        ('```sh {"name":"a"} trailing', '```sh {"name":"a","id":"ULID"} trailing'),
    ],
)
def test_identity_inserts_only_the_id(opening: str, expected: str) -> None:
    text = f"# T\n\n{opening}\necho a\n```\n\ntext\n"
    nb = apply_identity(parse(text), "cell")
    out = serialize(nb)
    written = _only_id_added(text, out, opening, re.escape(expected))
    assert written == nb.code_cells()[0].attributes["id"]
    again = parse(out).code_cells()[0]
    assert again.attributes["id"] == written
    assert again.source == "echo a\n"


def test_identity_keeps_json_values_as_written() -> None:
    out = serialize(apply_identity(parse('```sh {"interactive":true,"n":1}\nx\n```\n'), "cell"))
    assert out.startswith('```sh {"interactive":true,"n":1,"id":"')


def test_identity_keeps_a_longer_closing_fence_and_no_final_newline() -> None:
    text = "```sh\necho\n`````\n\n~~~\nls\n~~~~"
    out = serialize(apply_identity(parse(text), "cell"))
    assert re.fullmatch(
        rf'```sh \{{"id":"{ULID_RE}"\}}\necho\n`````\n\n~~~ \{{"id":"{ULID_RE}"\}}\nls\n~~~~',
        out,
    )


def test_identity_on_a_fence_open_at_end_of_file_keeps_it_open() -> None:
    text = "```sh {name=a}\necho\n"
    out = serialize(apply_identity(parse(text), "cell"))
    assert re.fullmatch(rf"```sh \{{name=a id={ULID_RE}\}}\necho\n", out)


def test_identity_never_appends_after_an_unclosed_brace() -> None:
    # Runme would read `{name="x" foo {"id":…}` as one broken block: ours goes first.
    text = '```sh {name="x" foo\necho\n```\n'
    out = serialize(apply_identity(parse(text), "cell"))
    cell = parse(out).code_cells()[0]
    assert is_ulid(cell.attributes["id"])
    assert out.endswith(' {name="x" foo\necho\n```\n')


def test_identity_leaves_indented_and_markup_blocks_alone() -> None:
    text = "Text\n\n    ls\n\n```mermaid\ngraph TD\n```\n"
    assert serialize(apply_identity(parse(text), "cell")) == text


def test_editing_source_keeps_the_closing_line_as_written() -> None:
    nb = parse("```sh\necho\n  `````")
    nb.code_cells()[0].source = "echo edited\n"
    assert serialize(nb) == "```sh\necho edited\n  `````"


def test_identity_keeps_crlf_and_container_prefixes() -> None:
    text = '> ```sh {"name":"q"}\r\n> echo\r\n> ```\r\n'
    out = serialize(apply_identity(parse(text), "cell"))
    assert re.fullmatch(rf'> ```sh \{{"name":"q","id":"{ULID_RE}"\}}\r\n> echo\r\n> ```\r\n', out)


# --- the document identity leaves the frontmatter's other bytes alone ------------------


def test_document_identity_inserts_into_yaml_keeping_dates_quotes_and_comments() -> None:
    text = "---\n# comment\ndate: 2024-05-10   # when\ntitle: 'x'\n---\n\n# T\n"
    out = serialize(apply_identity(parse(text), "document"))
    assert re.fullmatch(
        rf"---\n# comment\ndate: 2024-05-10   # when\ntitle: 'x'\nrunme:\n  id: {ULID_RE}\n"
        r"  version: v3\n---\n\n# T\n",
        out,
    )


def test_document_identity_finds_the_indentation_of_runme_children() -> None:
    text = "---\nrunme:\n\n    # the session\n    version: v2\n---\n"
    out = serialize(apply_identity(parse(text), "document"))
    assert out.endswith("    # the session\n    version: v2\n---\n")
    fm = parse(out).frontmatter
    assert fm is not None and fm.error is None
    assert (fm.runme["version"], is_ulid(fm.runme["id"])) == ("v2", True)


def test_document_identity_inserts_into_one_line_json() -> None:
    text = '{"title": "x", "n": 1.50}\n\n# T\n'
    out = serialize(apply_identity(parse(text), "document"))
    assert re.fullmatch(
        rf'\{{"title": "x", "n": 1.50, "runme": \{{"id": "{ULID_RE}", "version": "v3"\}}\}}'
        r"\n\n# T\n",
        out,
    )


def test_document_identity_inserts_into_multiline_json_and_existing_runme() -> None:
    text = '{\n  "title": "x",\n  "runme": {\n    "version": "v2"\n  }\n}\n\n# T\n'
    out = serialize(apply_identity(parse(text), "document"))
    assert re.fullmatch(
        r'\{\n  "title": "x",\n  "runme": \{\n    "version": "v2",\n'
        rf'    "id": "{ULID_RE}"\n  \}}\n\}}\n\n# T\n',
        out,
    )


def test_document_identity_never_writes_broken_toml() -> None:
    # A dotted `runme.version` key: a [runme] table would redefine it.
    text = '+++\nrunme.version = "v2"\n+++\n\n# T\n'
    nb = parse(text)
    with pytest.raises(NotebookError, match="by hand"):
        apply_identity(nb, "document")
    assert serialize(nb) == text


# --- Runme's key=value attributes -------------------------------------------------------


def test_html_attributes_survive_a_write() -> None:
    nb = parse("```sh {name=echo first= second=2}\necho\n```\n")
    assert nb.code_cells()[0].attributes == {"name": "echo", "first": "", "second": "2"}
    apply_identity(nb, "cell")
    again = parse(serialize(nb)).code_cells()[0]
    assert {k: v for k, v in again.attributes.items() if k != "id"} == {
        "name": "echo",
        "first": "",
        "second": "2",
    }


# --- which blocks are cells, and how they are described ---------------------------------


def test_indented_code_block_is_a_code_cell() -> None:
    text = "Run it:\n\n    make build\n    make test\n\n> quoted:\n>\n>     ls\n"
    nb = parse(text)
    first, quoted = nb.code_cells()
    assert (first.source, first.language, first.fenced) == ("make build\nmake test\n", "", False)
    assert first.name == "make-build"
    assert quoted.source == "ls\n"
    assert serialize(nb) == text
    first.source = "make all\n\nmake check\n"
    quoted.source = "ls -l\n"
    assert (
        serialize(nb) == "Run it:\n\n    make all\n\n    make check\n\n> quoted:\n>\n>     ls -l\n"
    )


@pytest.mark.parametrize(
    ("info", "runnable"),
    [
        ("mermaid", False),
        ('mermaid {"transform":"true"}', True),
        ('sh {"transform":"false"}', False),
        ("sh { transform=0 }", False),
        ('sh {"transform":"maybe"}', True),  # not a boolean to Go: Runme's default
        ("sh", True),
        ("Mermaid", True),  # Runme compares the language exactly
    ],
)
def test_blocks_runme_shows_as_markup_are_not_runnable(info: str, runnable: bool) -> None:
    text = f"```{info}\ngraph TD\n```\n"
    nb = parse(text)
    (cell,) = nb.code_cells()
    assert cell.runnable is runnable
    assert serialize(nb) == text


def test_running_a_markup_block_is_refused_and_all_skips_it() -> None:
    nb = parse('```mermaid\ngraph TD\n```\n\n```sh {"name":"ok"}\necho\n```\n')
    with pytest.raises(CellNotRunnableError, match=r"mermaid diagram.*transform"):
        select_cells(nb, ["graph-td"], all_cells=False, tags=[], path="r.md")
    assert [c.name for c in select_cells(nb, [], all_cells=True, tags=[])] == ["ok"]


@pytest.mark.parametrize(
    ("markdown", "description"),
    [
        ("Run this to deploy:\n\n```sh\nx\n```\n", "Run this to deploy."),
        ("Deploy it\n\n```sh\nx\n```\n", "Deploy it"),
        ("Ready?\n```sh\nx\n```\n", "Ready?"),
        (
            "Use `kubectl` to **list** [pods](https://k8s.io)\nin the namespace:\n\n"
            "```sh\nx\n```\n",
            "Use kubectl to list pods in the namespace.",
        ),
        ("# A heading\n\n```sh\nx\n```\n", ""),
        ("Para.\n\n# Heading\n\n```sh\nx\n```\n", ""),
        ("- tight item:\n  ```sh\n  x\n  ```\n", ""),  # goldmark: not a paragraph
        ("> Quoted intro:\n>\n> ```sh\n> x\n> ```\n", "Quoted intro."),
        ('Intro:\n\n```sh {"description":"From the attribute"}\nx\n```\n', "From the attribute"),
    ],
)
def test_description_is_the_paragraph_before_unless_an_attribute_says(
    markdown: str, description: str
) -> None:
    assert parse(markdown).code_cells()[0].description == description


# --- attributes Runme reads otherwise are warned about ----------------------------------


@pytest.mark.parametrize(
    ("info", "attributes", "warning"),
    [
        ("sh {name=}", {"name": ""}, "'name' is empty"),
        ('sh {name="x" foo', {}, "never closed"),
        ('sh {"name": 1}', {"name": "1"}, "'name' is a number"),
        ('sh {"name": "x", "env": {"A": 1}}', {"name": "x", "env": '{"A":1}'}, "an object"),
        ('sh {"name": "x",}', {}, "not valid JSON"),
        ('sh {"description": "a {b} c"}', {"description": "a {b} c"}, "first '}'"),
    ],
)
def test_malformed_attributes_are_warned_about_with_their_line(
    info: str, attributes: dict[str, str], warning: str
) -> None:
    nb = parse(f"# T\n\n```{info}\necho\n```\n")
    assert nb.code_cells()[0].attributes == attributes
    assert nb.diagnostics
    assert all(d.line == 3 for d in nb.diagnostics)
    assert any(warning in d.message for d in nb.diagnostics)


def test_well_formed_attributes_are_not_warned_about() -> None:
    text = '```sh {"name":"a","interactive":false}\nx\n```\n\n```sh { name=b cwd=/tmp }\nx\n```\n'
    assert parse(text).diagnostics == []


def test_invalid_frontmatter_is_warned_about() -> None:
    nb = parse("---\ntitle: [\n---\n\n# T\n")
    (diagnostic,) = nb.diagnostics
    assert diagnostic.line == 1
    assert "invalid YAML frontmatter" in diagnostic.message
