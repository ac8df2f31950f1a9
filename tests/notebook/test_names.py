"""Cell names: Runme's generated names, and finding cells by name, id or tag."""

from __future__ import annotations

import pytest

from cairn.notebook import (
    CellNotFoundError,
    DuplicateNameError,
    NotebookError,
    find_cell,
    parse,
    sanitize_name,
    select_cells,
)


def _doc(*sources: str) -> str:
    return "\n".join(f"```sh\n{s}```\n" for s in sources)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("echo hello world\n", "echo-hello"),
        ("Docker Build .\n", "docker-build"),
        ("kubectl get pods -A\n", "kubectl-get"),
        ("export GREETING=hello\n", "export-greeting"),
        ("FOO=bar make build\n", "foo"),
        ("$ ls -la\n", "ls-la"),
        ("$ brew install runme\n", "brew-install"),
        ("# a comment\n\nmake test\n", "make-test"),
        ("#!/bin/bash\nset -euo pipefail\n", "set-euo"),
        ("echo hi # trailing comment\n", "echo-hi"),
        ("npm run build:prod\n", "npm-run"),
        ("   indented command here\n", "indented-command"),
        ("ÉCHO naïve\n", "cho-nave"),
    ],
)
def test_generated_name_follows_runme_rule(source: str, expected: str) -> None:
    cell = parse(_doc(source)).code_cells()[0]
    assert cell.name == expected
    assert cell.name_generated


def test_sanitize_name_cuts_at_32_bytes_before_taking_words() -> None:
    assert sanitize_name("a" * 40 + " second") == "a" * 32


def test_duplicate_generated_names_get_numbered_suffixes() -> None:
    nb = parse(_doc("echo hi\n", "echo hi there\n", "ls\n", "echo hi\n"))
    assert [c.name for c in nb.code_cells()] == ["echo-hi", "echo-hi-2", "ls", "echo-hi-3"]


def test_explicit_name_is_used_as_is() -> None:
    cell = parse('```sh {"name":"My_Name"}\necho hi\n```\n').code_cells()[0]
    assert cell.name == "My_Name"
    assert not cell.name_generated
    assert cell.generated_name == ""


def test_explicit_name_is_found_even_when_an_earlier_cell_generates_the_same_name() -> None:
    nb = parse('```sh\necho hi\n```\n\n```sh {"name":"echo-hi"}\nls\n```\n')
    names = [c.name for c in nb.code_cells()]
    assert len(set(names)) == 2
    assert find_cell(nb, "echo-hi").source == "ls\n"


def test_find_cell_by_name_and_by_id() -> None:
    nb = parse(
        '```sh {"name":"build"}\nmake\n```\n\n```sh {"id":"01HF7BT3HD84GWTQB8VY8ZJGJW"}\nls\n```\n'
    )
    assert find_cell(nb, "build").source == "make\n"
    assert find_cell(nb, "01HF7BT3HD84GWTQB8VY8ZJGJW").source == "ls\n"
    assert find_cell(nb, "ls").source == "ls\n"


def test_unknown_name_suggests_close_names() -> None:
    nb = parse('```sh {"name":"build-app"}\nmake\n```\n\n```sh {"name":"deploy"}\nx\n```\n')
    with pytest.raises(CellNotFoundError) as info:
        find_cell(nb, "biuld-app", "README.md")
    message = str(info.value)
    assert message.startswith("README.md: no cell named 'biuld-app'")
    assert "did you mean 'build-app'?" in message
    assert "deploy" not in message


def test_unknown_name_without_close_match_lists_available_names() -> None:
    nb = parse('```sh {"name":"build"}\nmake\n```\n')
    with pytest.raises(CellNotFoundError, match="available: build"):
        find_cell(nb, "zzzzzz")


def test_cell_not_found_is_a_notebook_error() -> None:
    with pytest.raises(NotebookError, match="no cell named 'x'"):
        find_cell(parse("# no cells\n"), "x")


def test_duplicate_explicit_names_raise_with_their_lines() -> None:
    text = '```sh {"name":"dup"}\na\n```\n\n```sh { name=dup }\nb\n```\n'
    nb = parse(text)
    with pytest.raises(DuplicateNameError, match=r"2 cells are named 'dup' \(lines 1, 5\)"):
        find_cell(nb, "dup")


def test_select_cells_keeps_the_requested_order() -> None:
    nb = parse(_doc("echo a\n", "echo b\n"))
    assert [c.name for c in select_cells(nb, ["echo-b", "echo-a"], all_cells=False, tags=[])] == [
        "echo-b",
        "echo-a",
    ]


def test_select_cells_by_tag_reads_tag_category_and_tags() -> None:
    text = (
        '```sh {"name":"a","tag":"ci"}\na\n```\n\n'
        '```sh {"name":"b","category":"ops,ci"}\nb\n```\n\n'
        '```sh {"name":"c","tags":"docs"}\nc\n```\n'
    )
    nb = parse(text)
    assert [c.name for c in select_cells(nb, [], all_cells=False, tags=["ci"])] == ["a", "b"]
    assert [c.name for c in select_cells(nb, [], all_cells=True, tags=[])] == ["a", "b", "c"]


def test_select_cells_with_unknown_tag_raises() -> None:
    with pytest.raises(CellNotFoundError, match="no cell is tagged nope"):
        select_cells(parse(_doc("a\n")), [], all_cells=False, tags=["nope"])
