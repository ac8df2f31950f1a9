"""The stable JSON view (`to_json`) and Jupyter import/export (`to_ipynb`/`from_ipynb`)."""

from __future__ import annotations

import json

import nbformat
import pytest

from cairn.notebook import NotebookError, from_ipynb, parse, serialize, to_ipynb, to_json

ULID = "01HF7BT3HD84GWTQB8VY8ZJGJW"

RUNBOOK = (
    "---\nshell: bash\n---\n\n# Title\n\nSome *prose*.\n\n"
    f'```sh {{"name":"hello","id":"{ULID}","interactive":false}}\necho hello\n\n'
    "# Ran on 2025-11-19 21:04:17Z for 278ms exited with 3\nhello\n```\n\n"
    "```python\nprint(1)\n```\n"
)


def test_to_json_cells_have_the_documented_keys() -> None:
    doc = to_json(parse(RUNBOOK))
    keys = {"kind", "language", "source", "attributes", "id", "name", "outputs"}
    assert len(doc["cells"]) == 3
    for cell in doc["cells"]:
        assert keys <= set(cell)


def test_to_json_code_cell_values() -> None:
    code = to_json(parse(RUNBOOK))["cells"][1]
    assert code["kind"] == "code"
    assert code["language"] == "sh"
    assert code["source"] == "echo hello\n"
    assert code["attributes"] == {"name": "hello", "id": ULID, "interactive": "false"}
    assert code["id"] == ULID
    assert code["name"] == "hello"
    assert code["interactive"] is False
    assert code["line"] == 9
    outputs = [(o["text"], o["exit_code"], o["duration"]) for o in code["outputs"]]
    assert outputs == [("hello\n", 3, "278ms")]


def test_to_json_markup_cell_has_no_code_fields() -> None:
    markup = to_json(parse(RUNBOOK))["cells"][0]
    assert markup["kind"] == "markup"
    assert markup["source"] == "# Title\n\nSome *prose*.\n"
    assert (markup["language"], markup["id"], markup["name"]) == (None, None, None)
    assert markup["outputs"] == []


def test_to_json_never_exposes_ephemeral_ids() -> None:
    nb = parse("```sh\nls\n```\n")
    ephemeral = nb.code_cells()[0].id
    cell = to_json(nb)["cells"][0]
    assert cell["id"] is None
    assert ephemeral not in json.dumps(to_json(nb))


def test_to_json_frontmatter_and_serializable() -> None:
    doc = to_json(parse(RUNBOOK))
    assert doc["frontmatter"]["format"] == "yaml"
    assert doc["frontmatter"]["data"] == {"shell": "bash"}
    assert doc["frontmatter"]["raw"] == "---\nshell: bash\n---\n"
    assert json.loads(json.dumps(doc)) == doc
    assert to_json(parse("# x\n"))["frontmatter"] is None


def test_to_ipynb_is_a_valid_nbformat_4_notebook() -> None:
    doc = nbformat.reads(to_ipynb(parse(RUNBOOK)), as_version=4)
    nbformat.validate(doc)
    assert [c.cell_type for c in doc.cells] == ["markdown", "code", "code"]
    assert doc.metadata["language_info"]["name"] == "sh"


def test_to_ipynb_writes_stream_output_and_exit_code_metadata() -> None:
    doc = nbformat.reads(to_ipynb(parse(RUNBOOK)), as_version=4)
    code = doc.cells[1]
    assert code.source == "echo hello"
    outputs = [(o.output_type, o.name, o.text) for o in code.outputs]
    assert outputs == [("stream", "stdout", "hello\n")]
    assert code.metadata["cairn"]["exit_code"] == 3
    assert code.metadata["runme"]["attributes"]["name"] == "hello"
    assert "cairn" not in doc.cells[2].metadata


def test_ipynb_round_trip_keeps_cells_outputs_and_exit_codes() -> None:
    nb = from_ipynb(to_ipynb(parse(RUNBOOK)))
    assert [(c.kind, c.source, c.language) for c in nb.cells] == [
        ("markup", "# Title\n\nSome *prose*.\n", ""),
        ("code", "echo hello\n", "sh"),
        ("code", "print(1)\n", "python"),
    ]
    hello = nb.cells[1]
    assert hello.attributes == {"name": "hello", "id": ULID, "interactive": "false"}
    assert [(o.text, o.exit_code) for o in hello.outputs] == [("hello\n", 3)]
    assert nb.cells[2].outputs == []
    assert [c.name for c in nb.code_cells()] == ["hello", "print1"]


def test_imported_ipynb_serializes_to_markdown_that_parses_back() -> None:
    nb = from_ipynb(to_ipynb(parse(RUNBOOK)))
    again = parse(serialize(nb))
    assert [(c.kind, c.source) for c in again.cells] == [(c.kind, c.source) for c in nb.cells]
    assert [o.exit_code for o in again.cells[1].outputs] == [3]


def test_from_ipynb_uses_notebook_language_when_cells_have_none() -> None:
    doc = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("print(2)"), nbformat.v4.new_markdown_cell("  ")],
        metadata={"language_info": {"name": "python"}},
    )
    nb = from_ipynb(nbformat.writes(doc))
    assert [(c.kind, c.language, c.source) for c in nb.cells] == [("code", "python", "print(2)\n")]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "{}",
        '{"cells": 3}',
        '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "bogus"}]}',
    ],
    ids=["empty", "not-json", "empty-object", "cells-not-a-list", "bad-cell-type"],
)
def test_invalid_ipynb_raises_notebook_error(text: str) -> None:
    with pytest.raises(NotebookError, match=r"not a valid \.ipynb notebook") as info:
        from_ipynb(text)
    assert "\n" not in str(info.value)
