"""The `cairn` commands on documents as Runme writes them: the real console script.

Each test runs `cairn` as a subprocess on a file in a temporary directory, with its
own config dir, and checks exit code, stdout and the `file:line: warning:` lines.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

CAIRN = str(Path(sys.executable).with_name("cairn"))
ULID = r"[0-9A-HJKMNP-TV-Z]{26}"


def _cairn(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CAIRN_DEBUG"}
    env["CAIRN_CONFIG_DIR"] = str(tmp_path / "config")
    return subprocess.run(
        [CAIRN, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env
    )


def _write(tmp_path: Path, text: str, name: str = "README.md") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_to_json_reads_the_dates_runme_writes_in_session_files(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "---\ndate: 2024-05-10\nrunme:\n  session:\n    updated: 2023-12-28 15:16:06-05:00\n"
        "---\n\n```sh\necho hi\n```\n",
    )
    done = _cairn(tmp_path, "notebook", "to-json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["frontmatter"]["data"]
    assert data == {
        "date": "2024-05-10",
        "runme": {"session": {"updated": "2023-12-28T15:16:06-05:00"}},
    }


def test_a_fence_open_at_the_end_is_read_with_one_warning(tmp_path: Path) -> None:
    text = "# T\n\n```sh\necho never closed\n"
    _write(tmp_path, text)
    listed = _cairn(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [row["first_command"] for row in json.loads(listed.stdout)] == ["echo never closed"]
    warnings = listed.stderr.splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("README.md:3: warning: code fence ``` is never closed")
    formatted = _cairn(tmp_path, "fmt")
    assert (formatted.returncode, formatted.stdout) == (0, text)


TRICKY = (
    "# Runbook\n\n"
    '```sh {"name": "generate"}\nmake gen\n```\n\n'
    '```sh { "name": "x" }\necho x\n`````\n\n'
    '```sh {"name":"y","interactive":true}\necho y\n```\n\n'
    "```sh {name=echo first= second=2}\necho e\n```\n\n"
    "```bash\necho last\n```"
)


def test_fmt_identity_all_changes_only_the_ids(tmp_path: Path) -> None:
    path = _write(tmp_path, TRICKY)
    done = _cairn(tmp_path, "fmt", "--identity", "all", "--write")
    assert done.returncode == 0, done.stderr
    out = path.read_bytes().decode()
    assert not out.endswith("\n")
    front, body = out.split("---\n\n", 1)[0], out.split("---\n\n", 1)[1]
    assert re.fullmatch(rf"---\nrunme:\n  id: {ULID}\n  version: v3\n", front)
    old_lines, new_lines = TRICKY.split("\n"), body.split("\n")
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert [a for a, _ in changed] == [
        '```sh {"name": "generate"}',
        '```sh { "name": "x" }',
        '```sh {"name":"y","interactive":true}',
        "```sh {name=echo first= second=2}",
        "```bash",
    ]
    expected = [
        r'```sh \{"name": "generate", "id": "ULID"\}',
        r'```sh \{ "name": "x", "id": "ULID" \}',
        r'```sh \{"name":"y","interactive":true,"id":"ULID"\}',
        r"```sh \{name=echo first= second=2 id=ULID\}",
        r'```bash \{"id":"ULID"\}',
    ]
    for (_, new), pattern in zip(changed, expected, strict=True):
        assert re.fullmatch(pattern.replace("ULID", ULID), new), new
    again = _cairn(tmp_path, "fmt", "--identity", "all", "--check")
    assert again.returncode == 0, again.stderr


def test_list_describes_cells_and_shows_what_does_not_run(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "# T\n\nBuild the image:\n\n```sh\ndocker build .\n```\n\n"
        "The flow:\n\n```mermaid\ngraph TD; A-->B\n```\n\n"
        'Ignored:\n\n```sh {"transform":"false","description":"kept as text"}\nrm -rf /\n```\n\n'
        "Indented:\n\n    make check\n",
    )
    listed = _cairn(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [
        (r["first_command"], r["description"], r["runnable"]) for r in json.loads(listed.stdout)
    ]
    assert rows == [
        ("docker build .", "Build the image.", True),
        ("graph TD; A-->B", "The flow.", False),
        ("rm -rf /", "kept as text", False),
        ("make check", "Indented.", True),
    ]
    table = _cairn(tmp_path, "list")
    assert table.returncode == 0, table.stderr
    mermaid_row = next(line for line in table.stdout.splitlines() if "graph TD" in line)
    assert "no (markup)" in mermaid_row
    assert "Build the image." in table.stdout


def test_run_refuses_a_cell_runme_shows_as_markup(tmp_path: Path) -> None:
    _write(tmp_path, "```mermaid\ngraph TD; A-->B\n```\n")
    done = _cairn(tmp_path, "run", "graph-td")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "cairn: error: README.md: cell 'graph-td' (line 1) is not runnable: it is a mermaid"
        ' diagram, so Runme shows it as markup; set {"transform":"true"} to run it'
    )


def test_list_warns_about_malformed_attributes_and_duplicate_names(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "```sh {name=}\necho a\n```\n\n"
        '```sh {name="x" foo\necho b\n```\n\n'
        '```sh {"name": 1}\necho c\n```\n\n'
        '```sh {"name":"dup"}\necho d\n```\n\n'
        '```sh {"name":"dup"}\necho e\n```\n',
    )
    listed = _cairn(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    warnings = listed.stderr.splitlines()
    assert [w.split(" warning: ")[0] for w in warnings] == [
        "README.md:1:",
        "README.md:5:",
        "README.md:9:",
        "README.md:13:",
    ]
    assert "'name' is empty" in warnings[0]
    assert "never closed" in warnings[1]
    assert "'name' is a number" in warnings[2]
    assert "2 cells are named 'dup' (lines 13, 17)" in warnings[3]
    rows = json.loads(listed.stdout)
    assert [r["duplicate"] for r in rows] == [False, False, False, True, True]
    table = _cairn(tmp_path, "list")
    assert table.stdout.count("dup (duplicate)") == 2
