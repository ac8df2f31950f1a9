"""The round-trip corpus: tricky Markdown that must come back byte for byte.

Every file in tests/fixtures/roundtrip is read as bytes and decoded as UTF-8 (no newline
translation), so CRLF, lone CR, a BOM and a missing final newline all reach the parser.
Editing one code cell must change only that cell's lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.notebook import Cell, Notebook, parse, render_cell, serialize, split_lines

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "roundtrip"
CORPUS = sorted(FIXTURES.glob("*.md"))

# A blank line inside the new source checks the container prefix on empty lines too.
NEW_SOURCE = "echo edited\n\necho 'after a blank line'\n"


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _with_code_cells() -> list[Path]:
    return [p for p in CORPUS if parse(_read(p)).code_cells()]


def _span(text: str, nb: Notebook, cell: Cell) -> tuple[str, str, str]:
    """Split `text` into (before, cell's lines, after) using the cell's `line`.

    `line` counts lines in the file after the BOM, frontmatter included; a cell's
    raw text always covers whole lines.
    """
    bom = "\ufeff" if nb.bom else ""
    lines = split_lines(text[len(bom) :])
    start = cell.line - 1
    count = len(split_lines(render_cell(cell)))
    before = bom + "".join(lines[:start])
    return before, "".join(lines[start : start + count]), "".join(lines[start + count :])


def test_corpus_has_at_least_40_files() -> None:
    assert len(CORPUS) >= 40


def test_corpus_files_are_not_all_plain_lf() -> None:
    data = [p.read_bytes() for p in CORPUS]
    assert any(b"\r\n" in d for d in data)
    assert any(b"\r" in d.replace(b"\r\n", b"") for d in data)
    assert any(d.startswith(b"\xef\xbb\xbf") for d in data)
    assert any(d and not d.endswith(b"\n") for d in data)
    assert b"" in data


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_unchanged_notebook_serializes_to_identical_text(path: Path) -> None:
    text = _read(path)
    assert serialize(parse(text)) == text


@pytest.mark.parametrize("path", _with_code_cells(), ids=lambda p: p.name)
def test_editing_first_code_cell_changes_only_its_lines(path: Path) -> None:
    text = _read(path)
    nb = parse(text)
    cell = nb.code_cells()[0]
    before, located, after = _span(text, nb, cell)
    # The cell's `line` must point at its own text in the file.
    assert located == render_cell(cell)
    assert before + located + after == text

    cell.source = NEW_SOURCE
    out = serialize(nb)

    assert out != text
    assert out.startswith(before)
    assert out.endswith(after)
    assert len(out) >= len(before) + len(after)
    middle = out[len(before) : len(out) - len(after)]
    assert "echo edited" in middle
    assert "echo 'after a blank line'" in middle
    assert located not in middle


@pytest.mark.parametrize("path", _with_code_cells(), ids=lambda p: p.name)
def test_edited_code_cell_reads_back_with_the_new_source(path: Path) -> None:
    nb = parse(_read(path))
    cell = nb.code_cells()[0]
    expected = (cell.language, dict(cell.attributes), [(o.text, o.exit_code) for o in cell.outputs])
    count = len(nb.code_cells())
    cell.source = NEW_SOURCE

    again = parse(serialize(nb))

    assert len(again.code_cells()) == count
    first = again.code_cells()[0]
    assert first.source == NEW_SOURCE
    got = (first.language, dict(first.attributes), [(o.text, o.exit_code) for o in first.outputs])
    assert got == expected
