"""The `cairn` command end to end: real processes, real files."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time

import nbformat

from cairn.notebook import is_ulid, parse

from .conftest import CAIRN

RUNBOOK = """\
---
shell: bash
---

# Deploy

```sh {"name":"greet","interactive":"false","tag":"smoke"}
export WHO=world
echo "hello $WHO"
```

Some text in between.

```sh { name=again interactive=false }
echo "again $WHO"
echo "to stderr" >&2
```

```python {"interactive":"false"}
print("from python")
```
"""


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


def test_list_shows_names_first_commands_and_interactivity(cairn, runbook) -> None:
    path = runbook(RUNBOOK)
    result = cairn("list", str(path), "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["name"] for r in rows] == ["greet", "again", "printfrom-python"]
    assert rows[0]["first_command"] == "export WHO=world"
    assert rows[1]["description"] == "Some text in between."  # the paragraph, as in Runme
    assert [r["interactive"] for r in rows] == [False, False, False]
    table = cairn("list", str(path))
    assert "greet" in table.stdout and "Some text in between." in table.stdout


def test_list_defaults_to_readme_in_current_directory(cairn, runbook) -> None:
    path = runbook(RUNBOOK)
    result = cairn("list", "--json", cwd=path.parent)
    assert result.returncode == 0
    assert len(json.loads(result.stdout)) == 3


def test_run_carries_env_between_named_cells_and_keeps_stderr_apart(cairn, runbook) -> None:
    path = runbook(RUNBOOK)
    result = cairn("run", "greet", "again", "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello world\nagain world\n"
    assert "to stderr" in result.stderr


def test_run_all_and_tag_select_cells(cairn, runbook) -> None:
    path = runbook(RUNBOOK)
    everything = cairn("run", "--all", "--file", str(path))
    assert everything.stdout.splitlines() == ["hello world", "again world", "from python"]
    tagged = cairn("run", "--tag", "smoke", "--file", str(path))
    assert tagged.stdout == "hello world\n"


def test_dry_run_prints_cells_and_programs_without_running(cairn, runbook, tmp_path) -> None:
    marker = tmp_path / "ran"
    path = runbook(f'```sh {{"name":"touch"}}\ntouch {marker}\n```\n')
    result = cairn("run", "touch", "--dry-run", "--file", str(path))
    assert result.returncode == 0
    assert f"touch {marker}" in result.stdout
    assert "bash" in result.stdout and "interactive" in result.stdout
    assert not marker.exists()


def test_write_outputs_creates_runme_session_file_that_reads_back(cairn, runbook) -> None:
    path = runbook(RUNBOOK)
    original = path.read_bytes()
    result = cairn("run", "--all", "--write-outputs", "--file", str(path))
    assert result.returncode == 0, result.stderr
    sessions = sorted(path.parent.glob("README-*.md"))
    assert len(sessions) == 1
    session_id = sessions[0].stem.split("-", 1)[1]
    assert is_ulid(session_id)
    assert str(sessions[0]) in result.stderr
    assert path.read_bytes() == original  # the runbook itself is untouched
    text = sessions[0].read_text()
    assert "# Ran on " in text and " exited with 0" in text
    nb = parse(text)
    assert nb.frontmatter is not None
    assert nb.frontmatter.runme["session"]["id"] == session_id
    greet = nb.code_cells()[0]
    assert greet.source == 'export WHO=world\necho "hello $WHO"\n'
    assert greet.outputs[0].text == "hello world\n"
    assert greet.outputs[0].exit_code == 0
    again = nb.code_cells()[1]
    assert "to stderr" in again.outputs[0].text


def test_write_outputs_strips_ansi_from_interactive_cells(cairn, runbook) -> None:
    path = runbook('```sh {"name":"colour"}\nprintf \'\\033[31mred\\033[0m\\n\'\n```\n')
    result = cairn("run", "colour", "--write-outputs", "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert "\x1b[31m" in result.stdout  # streamed to the terminal as is
    session = next(path.parent.glob("README-*.md")).read_text()
    assert "\x1b" not in session
    assert "\nred\n" in session


def test_print_outputs_cell_source(cairn, runbook) -> None:
    path = runbook(RUNBOOK)
    result = cairn("print", "again", "--file", str(path))
    assert result.stdout == 'echo "again $WHO"\necho "to stderr" >&2\n'


def test_failing_cell_stops_the_run_and_sets_exit_code(cairn, runbook) -> None:
    path = runbook('```sh {"name":"bad"}\nexit 3\n```\n\n```sh {"name":"after"}\necho after\n```\n')
    result = cairn("run", "--all", "--file", str(path))
    assert result.returncode == 3
    assert "after" not in result.stdout
    assert "'bad' failed with exit code 3" in result.stderr
    keep = cairn("run", "--all", "--keep-going", "--file", str(path))
    assert keep.returncode == 3 and "after" in keep.stdout


def test_fmt_is_identity_by_default_and_check_passes(cairn, runbook) -> None:
    path = runbook(RUNBOOK)
    out = cairn("fmt", str(path))
    assert out.stdout == RUNBOOK
    assert cairn("fmt", str(path), "--check").returncode == 0


def test_fmt_identity_all_writes_ids_atomically_and_keeps_other_bytes(cairn, runbook) -> None:
    path = runbook(RUNBOOK)
    check = cairn("fmt", str(path), "--check", "--identity", "all")
    assert check.returncode == 1 and "would be reformatted" in check.stderr
    assert cairn("fmt", str(path), "--write", "--identity", "all").returncode == 0
    text = path.read_text()
    nb = parse(text)
    assert nb.frontmatter is not None and is_ulid(nb.frontmatter.document_id or "")
    ids = [c.attributes.get("id", "") for c in nb.code_cells()]
    assert all(is_ulid(i) for i in ids)
    assert "Some text in between.\n" in text
    assert "{ name=again interactive=false" in text  # HTML form kept
    # Running fmt again never replaces ids.
    assert cairn("fmt", str(path), "--write", "--identity", "all").returncode == 0
    assert [c.attributes["id"] for c in parse(path.read_text()).code_cells()] == ids
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".README")]


def test_notebook_to_json_is_stable(cairn, runbook) -> None:
    path = runbook(RUNBOOK)
    data = json.loads(cairn("notebook", "to-json", str(path)).stdout)
    assert data["schema"] == 1
    code = [c for c in data["cells"] if c["kind"] == "code"]
    assert code[0] == {
        "kind": "code",
        "language": "sh",
        "source": 'export WHO=world\necho "hello $WHO"\n',
        "attributes": {"name": "greet", "interactive": "false", "tag": "smoke"},
        "id": None,
        "name": "greet",
        "name_generated": False,
        "interactive": False,
        "line": 7,
        "outputs": [],
    }


def test_ipynb_export_and_import(cairn, runbook, tmp_path) -> None:
    path = runbook(RUNBOOK)
    target = tmp_path / "out.ipynb"
    assert cairn("notebook", "to-ipynb", str(path), "-o", str(target)).returncode == 0
    doc = nbformat.read(target, as_version=4)
    nbformat.validate(doc)
    assert [c.cell_type for c in doc.cells].count("code") == 3
    back = cairn("notebook", "from-ipynb", str(target))
    assert back.returncode == 0
    cells = parse(back.stdout).code_cells()
    assert [c.name for c in cells][:2] == ["greet", "again"]
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    result = cairn("notebook", "from-ipynb", str(bad))
    assert result.returncode == 2 and "not a valid .ipynb" in result.stderr
    _no_traceback(result)


def test_interactive_cell_reads_from_the_users_terminal(runbook) -> None:
    """Under a real terminal, keys typed by the user reach the cell's PTY."""
    path = runbook('```sh {"name":"ask"}\nread -r answer\necho "got:$answer"\n```\n')
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [CAIRN, "run", "ask", "--file", str(path)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    os.write(master, b"typed\r")
    seen = b""
    deadline = time.monotonic() + 20
    while b"got:typed" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    assert proc.wait(timeout=20) == 0
    os.close(master)
    assert b"got:typed" in seen
