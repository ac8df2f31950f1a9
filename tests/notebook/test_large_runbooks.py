"""Large runbooks: read a piece at a time, listed row by row, read as before.

`load` decodes and parses a file a piece (1 MiB) at a time and never holds its whole
text; `cairn list` writes its JSON row by row and draws its table without rich. How
fast and how small that is, bench/notebook.py measures; these tests check that what is
read and printed is what reading the whole text gave.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from cairn.notebook import NotebookFileError, load, parse, read_text, serialize, to_json

CAIRN = str(Path(sys.executable).with_name("cairn"))
PIECE = 1 << 20  # bytes `load` decodes at once


def _cairn(tmp_path: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CAIRN_DEBUG"}
    env["CAIRN_CONFIG_DIR"] = str(tmp_path / "config")
    env["COLUMNS"] = str(columns)
    return subprocess.run(
        [CAIRN, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env
    )


def _section(i: int, newline: str) -> str:
    return newline.join(
        [
            f"## Step {i}: café",
            "",
            f"Run `step-{i}` (see [the guide](https://example.com/{i})).",
            "",
            f'```sh {{"name":"step-{i}"}}',
            f"echo 漢字 {i}",
            "```",
            "",
            "",
        ]
    )


def _padded_to(data: bytes, offset: int) -> bytes:
    """`data` and a paragraph of x's that ends (newline included) at byte `offset`."""
    room = offset - len(data) - 2
    assert room > 0
    return data + b"x" * room + b"\n\n"


def _straddling_runbook() -> bytes:
    """Over two pieces: an `é` split by the first piece's end, a CRLF by the second's."""
    data = "".join(_section(i, "\n") for i in range(7000)).encode()
    data = _padded_to(data, PIECE - 1) + "é is split here\n\n".encode()
    assert data[PIECE - 1 : PIECE + 1] == "é".encode()
    data += "".join(_section(i, "\r\n") for i in range(7000, 14000)).encode()
    data = _padded_to(data, 2 * PIECE - 4) + b"x\r\n\r\n"
    assert data[2 * PIECE - 1 : 2 * PIECE + 1] == b"\r\n"  # its CR ends piece two
    return data + b"```sh\nunclosed at the end\n"


@pytest.mark.slow
def test_load_reads_a_file_of_many_pieces_as_the_whole_text_reads(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_bytes(_straddling_runbook())
    text = read_text(path)
    whole = parse(text, window=len(text) + 1)
    streamed = load(path)
    assert to_json(streamed) == to_json(whole)
    assert streamed.diagnostics == whole.diagnostics
    assert [c.description for c in streamed.code_cells()] == [
        c.description for c in whole.code_cells()
    ]
    assert serialize(streamed) == text
    assert len(streamed.code_cells()) == 14001
    assert streamed.code_cells()[-1].line == text.count("\n") - 1


def test_load_names_the_line_of_invalid_utf8_past_the_first_piece(tmp_path: Path) -> None:
    data = "".join(_section(i, "\n") for i in range(9000)).encode()
    assert len(data) > PIECE + 1000
    lines = data.count(b"\n")
    path = tmp_path / "big.md"
    path.write_bytes(data + b"caf\xe9\n")
    with pytest.raises(NotebookFileError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:{lines + 1}: invalid UTF-8 (byte 0xe9")


def _rows(text: str) -> list[dict[str, object]]:
    return [
        {
            "name": c.name,
            "first_command": c.first_command,
            "description": c.description,
            "interactive": c.interactive,
            "runnable": c.runnable,
            "duplicate": c.name == "twice",
            "language": c.language,
            "line": c.line,
            "id": c.attributes.get("id"),
            "tags": c.tags,
        }
        for c in parse(text).code_cells()
    ]


LISTED = (
    '# Ops\n\nSay hello *politely*:\n\n```sh {"name":"twice","tags":"a,b"}\necho hi\n```\n\n'
    "```sh {name=twice interactive=false}\necho 'again'\n```\n\n"
    'Print the 漢字 and a "quote":\n\n    cat <<EOF\n    漢字\n    EOF\n\n'
    "```mermaid\ngraph TD; A-->B\n```\n"
)


def test_list_json_prints_the_rows_as_one_indented_json_array(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(LISTED, encoding="utf-8")
    done = _cairn(tmp_path, "list", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == json.dumps(_rows(LISTED), ensure_ascii=False, indent=2) + "\n"
    (tmp_path / "README.md").write_text("# No code here\n", encoding="utf-8")
    empty = _cairn(tmp_path, "list", "--json")
    assert (empty.returncode, empty.stdout) == (0, "[]\n")


def _columns(line: str, starts: list[int]) -> list[str]:
    """`line` cut at the given terminal-cell offsets."""
    cuts, cells, out = [], 0, []
    for i, char in enumerate(line):
        if cells in starts and len(cuts) < len(starts):
            cuts.append(i)
        cells += cell_len(char)
    cuts += [len(line)] * (len(starts) - len(cuts))
    for a, b in zip(cuts, [*cuts[1:], len(line)], strict=True):
        out.append(line[a:b].strip())
    return out


def test_list_table_wraps_cells_to_the_terminal_width_in_aligned_columns(
    tmp_path: Path,
) -> None:
    long_intro = "Then run the migration " + "and check the replicas " * 6 + "carefully:"
    text = LISTED + f"\n{long_intro}\n\n```sh\nmake migrate-all-the-databases-now\n```\n"
    (tmp_path / "README.md").write_text(text, encoding="utf-8")
    done = _cairn(tmp_path, "list", columns=70)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(cell_len(line) <= 70 and line == line.rstrip() for line in lines)
    header = lines[0]
    names = ["Name", "First command", "Description", "Interactive", "Runs"]
    starts = [cell_len(header[: header.index(n)]) for n in names]
    assert _columns(header, starts) == names
    rows: list[list[list[str]]] = []  # a row's lines, cut into columns
    for line in lines[1:]:
        cut = _columns(line, starts)
        if cut[4]:  # a row's first line has every column that is not empty
            rows.append([])
        rows[-1].append(cut)
    # Words wrap at spaces; a word longer than its column is cut where it must.
    table = [[" ".join(filter(None, column)) for column in zip(*row, strict=True)] for row in rows]
    assert table[0] == ["twice (duplicate)", "echo hi", "Say hello politely.", "yes", "yes"]
    assert table[1] == ["twice (duplicate)", "echo 'again'", "", "no", "yes"]
    assert table[2] == ["cat-eof", "cat <<EOF", 'Print the 漢字 and a "quote".', "yes", "yes"]
    assert table[3] == ["graph-td", "graph TD; A-->B", "", "yes", "no (markup)"]
    assert table[4][2] == " ".join(long_intro.split())[:-1] + "."
    assert "".join(line[1] for line in rows[4]) == "makemigrate-all-the-databases-now"
    assert "twice" in done.stderr and "warning" in done.stderr
