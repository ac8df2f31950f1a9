"""Notebook cells run through the kernel: frontmatter cwd/shell, cell attributes, stopping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cairn.kernel import (
    KernelError,
    RunOptions,
    cell_spec,
    parse_timeout,
    run_cells,
    session_for,
)
from cairn.notebook import Cell, Notebook, parse

RUNBOOK = """\
---
cwd: sub
---

# Demo

```sh { name=where interactive=false }
pwd
```

```sh { name=slow timeout=0.5s interactive=false }
sleep 30
```

```sh { name=ok interactive=false }
echo ok
```

```sh { name=fails interactive=false }
echo failing; exit 3
```

```sh { name=never interactive=false }
echo never
```
"""


@pytest.fixture
def runbook(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "runbook.md"
    path.write_text(RUNBOOK)
    return path


def _cells(text: str, *names: str) -> tuple[Notebook, list[Cell]]:
    nb = parse(text)
    by_name = {c.name: c for c in nb.code_cells()}
    return nb, [by_name[n] for n in names]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30.0),
        ("30s", 30.0),
        ("1.5m", 90.0),
        ("500ms", 0.5),
        ("1h", 3600.0),
        (" 2m ", 120.0),
    ],
)
def test_parse_timeout_accepts_seconds_and_units(text: str, seconds: float) -> None:
    assert parse_timeout(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "-1", "1d", "1.2.3", "5 minutes", "s", "0", "0ms"])
def test_parse_timeout_rejects_invalid_values(text: str) -> None:
    with pytest.raises(KernelError, match="invalid timeout"):
        parse_timeout(text)


def test_session_for_runs_cells_in_frontmatter_cwd(
    runbook: Path, clean_env: dict[str, str]
) -> None:
    nb, cells = _cells(runbook.read_text(), "where")
    with session_for(nb, runbook, env=clean_env) as session:
        assert os.path.realpath(session.cwd) == os.path.realpath(runbook.parent / "sub")
        [(cell, result)] = list(run_cells(nb, cells, session))
    assert cell is cells[0]
    assert result.ok
    printed = result.process.stdout.text.strip()
    assert os.path.realpath(printed) == os.path.realpath(runbook.parent / "sub")


def test_session_for_without_frontmatter_runs_in_the_runbook_directory(tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    nb = parse("```sh\npwd\n```\n")
    with session_for(nb, path) as session:
        assert session.cwd == str(tmp_path.resolve())
        assert session.shell is None


def test_frontmatter_shell_picks_the_program(tmp_path: Path, clean_env: dict[str, str]) -> None:
    nb = parse("---\nshell: sh\n---\n\n```bash { interactive=false }\necho from sh\n```\n")
    with session_for(nb, tmp_path / "r.md", env=clean_env) as session:
        [(_, result)] = list(run_cells(nb, nb.code_cells(), session))
    assert result.program == "sh"
    assert result.process.stdout.text == "from sh\n"


def test_cell_timeout_attribute_is_honoured(runbook: Path, clean_env: dict[str, str]) -> None:
    nb, cells = _cells(runbook.read_text(), "slow")
    with session_for(nb, runbook, env=clean_env, grace=0.3) as session:
        [(_, result)] = list(run_cells(nb, cells, session))
    assert result.cell.timeout == pytest.approx(0.5)
    assert result.process.timed_out
    assert result.exit_code == 130
    assert result.process.duration < 5


def test_cell_timeout_attribute_wins_over_the_run_option() -> None:
    _, (slow, ok) = _cells(RUNBOOK, "slow", "ok")
    options = RunOptions(timeout=7.0)
    assert cell_spec(slow, options).timeout == pytest.approx(0.5)
    assert cell_spec(ok, options).timeout == pytest.approx(7.0)


def test_invalid_timeout_attribute_raises_kernel_error() -> None:
    nb = parse("```sh { timeout=soon }\necho hi\n```\n")
    with pytest.raises(KernelError, match="'soon'"):
        cell_spec(nb.code_cells()[0])


def test_run_option_forces_interactive_mode() -> None:
    nb = parse("```sh\necho hi\n```\n")
    cell = nb.code_cells()[0]
    assert cell_spec(cell).interactive is True
    assert cell_spec(cell, RunOptions(interactive=False)).interactive is False


def test_run_cells_stops_after_the_first_failure(runbook: Path, clean_env: dict[str, str]) -> None:
    nb, cells = _cells(runbook.read_text(), "ok", "fails", "never")
    with session_for(nb, runbook, env=clean_env) as session:
        ran = list(run_cells(nb, cells, session))
    assert [cell.name for cell, _ in ran] == ["ok", "fails"]
    assert ran[-1][1].exit_code == 3


def test_run_cells_can_keep_going_after_a_failure(runbook: Path, clean_env: dict[str, str]) -> None:
    nb, cells = _cells(runbook.read_text(), "ok", "fails", "never")
    with session_for(nb, runbook, env=clean_env) as session:
        ran = list(run_cells(nb, cells, session, stop_on_failure=False))
    assert [result.exit_code for _, result in ran] == [0, 3, 0]
    assert ran[-1][1].process.stdout.text == "never\n"


def test_cell_cwd_attribute_moves_the_session(tmp_path: Path, clean_env: dict[str, str]) -> None:
    (tmp_path / "deeper").mkdir()
    text = (
        "```sh { cwd=deeper interactive=false }\npwd\n```\n\n"
        "```sh { interactive=false }\npwd\n```\n"
    )
    nb = parse(text)
    with session_for(nb, tmp_path / "r.md", env=clean_env) as session:
        ran = list(run_cells(nb, nb.code_cells(), session))
    expected = f"{(tmp_path / 'deeper').resolve()}\n"
    assert [result.process.stdout.text for _, result in ran] == [expected, expected]
