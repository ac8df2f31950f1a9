"""Shell cells run as one script under `set -e -o pipefail`; other languages run as files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cairn.kernel import CellSpec, KernelError, Session


@pytest.mark.parametrize("interactive", [False, True])
def test_failing_command_stops_the_cell_with_its_exit_code(
    session: Session, interactive: bool
) -> None:
    result = session.run(CellSpec("false; echo after", interactive=interactive))
    assert result.exit_code == 1
    assert not result.ok
    assert "after" not in result.process.stdout.text


def test_failure_inside_a_pipeline_fails_the_cell(session: Session) -> None:
    result = session.run(CellSpec("false | true\necho after", interactive=False))
    assert result.exit_code == 1
    assert result.process.stdout.text == ""


def test_explicit_exit_code_is_reported(session: Session) -> None:
    assert session.run(CellSpec("exit 7", interactive=False)).exit_code == 7


def test_bash_error_names_the_cell_script_and_line(session: Session) -> None:
    source = "echo one\ncairn_no_such_command_xyz\necho three\n"
    result = session.run(CellSpec(source, name="broken", interactive=False))
    assert result.exit_code == 127
    stderr = result.process.stderr.text
    assert re.search(r"broken\.sh: line 2: cairn_no_such_command_xyz: command not found", stderr)
    assert result.process.stdout.text == "one\n"


def test_multi_line_cell_runs_as_one_script(session: Session) -> None:
    source = 'greet() {\n  echo "hi $1"\n}\nfor n in a b; do\n  greet $n\ndone\n'
    result = session.run(CellSpec(source, interactive=False))
    assert result.process.stdout.text == "hi a\nhi b\n"


def test_python_cell_runs_as_a_py_file(session: Session) -> None:
    source = "import sys\nprint('hello from python')\nprint(__file__)"
    result = session.run(CellSpec(source, language="python", interactive=False))
    assert result.exit_code == 0
    assert result.program == "python3"
    first, path = result.process.stdout.text.splitlines()
    assert first == "hello from python"
    assert path.endswith(".py")


def test_python_cell_failure_reports_its_exit_code(session: Session) -> None:
    source = "import sys\nprint('bye', file=sys.stderr)\nsys.exit(4)\n"
    result = session.run(CellSpec(source, language="py", interactive=False))
    assert result.exit_code == 4
    assert result.process.stderr.text == "bye\n"


@pytest.mark.parametrize("interactive", [False, True])
def test_deleted_working_directory_raises_kernel_error_before_running(
    session: Session, tmp_path: Path, interactive: bool
) -> None:
    session.run(CellSpec("mkdir gone && cd gone", interactive=False))
    gone = tmp_path / "gone"
    assert Path(session.cwd) == gone
    shutil.rmtree(gone)
    marker = tmp_path / "ran"
    with pytest.raises(KernelError) as info:
        session.run(CellSpec(f"touch {marker}", interactive=interactive))
    message = str(info.value)
    assert str(gone) in message
    assert "does not exist" in message
    assert "\n" not in message  # one line a user can act on
    assert not marker.exists()
