"""Editing a parsed notebook: only the changed cell's bytes change, in its own layout."""

from __future__ import annotations

import pytest

from cairn.notebook import Cell, parse, render_cell, serialize


def _edit_first(text: str, source: str) -> str:
    nb = parse(text)
    nb.code_cells()[0].source = source
    return serialize(nb)


def test_editing_top_level_cell_keeps_its_opening_line_verbatim() -> None:
    text = 'Intro\n\n```sh   {  "name" : "x" }   \necho old\n```\n\nOutro\n'
    out = _edit_first(text, "echo new\n")
    assert out == 'Intro\n\n```sh   {  "name" : "x" }   \necho new\n```\n\nOutro\n'


def test_editing_cell_in_nested_list_keeps_list_indentation() -> None:
    text = "1. one\n\n   - two\n\n     ```sh\n     echo old\n     ```\n\n   - three\n"
    out = _edit_first(text, "echo a\n\necho b\n")
    assert out == (
        "1. one\n\n   - two\n\n     ```sh\n     echo a\n\n     echo b\n     ```\n\n   - three\n"
    )
    assert parse(out).code_cells()[0].source == "echo a\n\necho b\n"


def test_editing_cell_on_list_marker_line_indents_later_lines() -> None:
    text = "- ```sh\n  echo old\n  ```\n- next\n"
    out = _edit_first(text, "echo new\n")
    assert out == "- ```sh\n  echo new\n  ```\n- next\n"


def test_editing_cell_in_nested_blockquote_prefixes_every_line() -> None:
    text = "> > ```sh\n> > echo old\n> > ```\n>\n> after\n"
    out = _edit_first(text, "echo a\n\necho b\n")
    assert out == "> > ```sh\n> > echo a\n> >\n> > echo b\n> > ```\n>\n> after\n"
    assert parse(out).code_cells()[0].source == "echo a\n\necho b\n"


def test_editing_cell_in_list_in_blockquote_keeps_both_prefixes() -> None:
    text = "> 1. step\n>\n>    ```sh\n>    echo old\n>    ```\n"
    out = _edit_first(text, "echo a\n\necho b\n")
    assert out == "> 1. step\n>\n>    ```sh\n>    echo a\n>\n>    echo b\n>    ```\n"


def test_editing_crlf_cell_writes_crlf() -> None:
    text = "# T\r\n\r\n```sh\r\necho old\r\n```\r\n\r\nend\r\n"
    out = _edit_first(text, "echo a\necho b\n")
    assert out == "# T\r\n\r\n```sh\r\necho a\r\necho b\r\n```\r\n\r\nend\r\n"


def test_editing_lone_cr_cell_writes_lone_cr() -> None:
    out = _edit_first("```sh\recho old\r```\r", "echo new\n")
    assert out == "```sh\recho new\r```\r"


def test_editing_cell_in_mixed_file_uses_that_cells_line_ending() -> None:
    text = "```sh\necho lf\n```\n\n```sh\r\necho crlf\r\n```\r\n"
    nb = parse(text)
    nb.code_cells()[1].source = "echo new\n"
    assert serialize(nb) == "```sh\necho lf\n```\n\n```sh\r\necho new\r\n```\r\n"


@pytest.mark.parametrize(
    ("fence", "source", "expected_fence"),
    [
        ("```", "```\ninner\n```\n", "````"),
        ("```", "  ````  \n", "`````"),
        ("~~~", "~~~\n", "~~~~"),
        ("````", "```\n", "````"),
        ("```", "~~~\n", "```"),
    ],
)
def test_fence_is_lengthened_only_when_source_contains_a_closing_line(
    fence: str, source: str, expected_fence: str
) -> None:
    text = f'{fence}sh {{"name":"x"}}\necho\n{fence}\n'
    out = _edit_first(text, source)
    assert out == f'{expected_fence}sh {{"name":"x"}}\n{source}{expected_fence}\n'
    again = parse(out).code_cells()
    assert [(c.source, c.attributes) for c in again] == [(source, {"name": "x"})]


def test_lengthened_fence_in_blockquote_keeps_prefix_and_crlf() -> None:
    text = "> ```sh\r\n> echo\r\n> ```\r\n"
    out = _edit_first(text, "```\n")
    assert out == "> ````sh\r\n> ```\r\n> ````\r\n"


def test_closing_fence_indented_more_than_opening_does_not_indent_new_code() -> None:
    # Both closings are valid (0-3 spaces relative to the container); their indentation
    # must not leak into the re-rendered code.
    text = "```sh\necho old\n  ```\n"
    out = _edit_first(text, "echo new\n")
    assert parse(out).code_cells()[0].source == "echo new\n"


def test_closing_fence_indented_more_in_list_does_not_indent_new_code() -> None:
    text = "- item\n\n  ```sh\n  echo old\n     ```\n"
    out = _edit_first(text, "echo new\n")
    assert parse(out).code_cells()[0].source == "echo new\n"


def test_unterminated_fence_gets_closed_when_cell_is_edited() -> None:
    out = _edit_first("# T\n\n```sh\necho old\n", "echo new\n")
    assert out == "# T\n\n```sh\necho new\n```\n"


def test_editing_one_cell_leaves_other_cells_alone() -> None:
    text = "```sh\na  \n```\n  \n```sh\nb\n```\n\n\n~~~\nc\n~~~"
    nb = parse(text)
    nb.code_cells()[1].source = "B\n"
    assert serialize(nb) == "```sh\na  \n```\n  \n```sh\nB\n```\n\n\n~~~\nc\n~~~"


def test_changing_language_rerenders_the_opening_line() -> None:
    nb = parse('```sh {"name":"x"}\necho\n```\n')
    nb.code_cells()[0].language = "bash"
    assert serialize(nb) == '```bash {"name":"x"}\necho\n```\n'


def test_removing_all_attributes_keeps_an_empty_attribute_block() -> None:
    nb = parse('```sh {"name":"x"}\necho\n```\n')
    nb.code_cells()[0].attributes.clear()
    out = serialize(nb)
    assert out == "```sh {}\necho\n```\n"
    assert parse(out).code_cells()[0].attributes == {}


def test_editing_markup_cell_replaces_only_its_text() -> None:
    text = "# Old\n\n```sh\necho\n```\n"
    nb = parse(text)
    nb.cells[0].source = "# New title\n"
    assert serialize(nb) == "# New title\n\n```sh\necho\n```\n"


def test_render_cell_of_unchanged_cell_is_its_raw_text() -> None:
    text = "  ```sh   \n  echo\n  ```  \n"
    cell = parse(text).code_cells()[0]
    assert not cell.changed
    assert render_cell(cell) == text


def test_reverting_an_edit_restores_the_original_bytes() -> None:
    text = "> ```sh\n> echo old\n> ```   \n"
    nb = parse(text)
    cell = nb.code_cells()[0]
    cell.source = "echo new\n"
    assert cell.changed
    cell.source = "echo old\n"
    assert not cell.changed
    assert serialize(nb) == text


# --- inserting new cells ------------------------------------------------------------


def _new_cell(source: str = "ls\n") -> Cell:
    return Cell(kind="code", source=source, language="sh")


def test_new_cell_at_the_end_gets_a_blank_line_before_it() -> None:
    nb = parse("# T\n\n```sh\necho\n```\n")
    nb.cells.append(_new_cell())
    assert serialize(nb) == "# T\n\n```sh\necho\n```\n\n```sh\nls\n```\n"


def test_new_cell_between_cells_gets_a_blank_line_and_keeps_neighbours() -> None:
    nb = parse("# T\n```sh\necho\n```\n")
    nb.cells.insert(1, _new_cell())
    out = serialize(nb)
    assert out.startswith("# T\n\n```sh\nls\n```\n")
    assert out.endswith("```sh\necho\n```\n")
    assert [c.source for c in parse(out).code_cells()] == ["ls\n", "echo\n"]


def test_new_cell_after_text_without_final_newline() -> None:
    nb = parse("Last line")
    nb.cells.append(_new_cell())
    assert serialize(nb) == "Last line\n\n```sh\nls\n```\n"


def test_new_cell_in_crlf_document_uses_crlf() -> None:
    nb = parse("# T\r\n\r\n```sh\r\necho\r\n```\r\n")
    nb.cells.append(_new_cell("a\nb\n"))
    assert serialize(nb) == "# T\r\n\r\n```sh\r\necho\r\n```\r\n\r\n```sh\r\na\r\nb\r\n```\r\n"


def test_new_cell_after_existing_blank_line_adds_no_second_one() -> None:
    nb = parse("# T\n\n")
    nb.cells.append(_new_cell())
    assert serialize(nb) == "# T\n\n```sh\nls\n```\n"


def test_new_cell_in_empty_notebook_has_no_leading_blank_line() -> None:
    nb = parse("")
    nb.cells.append(Cell(kind="code", source="ls\n", language="sh", attributes={"name": "x"}))
    assert serialize(nb) == '```sh {"name":"x"}\nls\n```\n'


def test_new_cell_after_frontmatter_is_separated_by_a_blank_line() -> None:
    nb = parse("---\nshell: bash\n---\n")
    nb.cells.append(_new_cell())
    assert serialize(nb) == "---\nshell: bash\n---\n\n```sh\nls\n```\n"
