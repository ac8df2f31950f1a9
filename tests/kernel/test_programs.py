"""Which program runs a cell: interpreter attribute, then frontmatter shell, then the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.kernel import (
    CellSpec,
    KernelError,
    ProgramNotFoundError,
    Session,
    UnknownLanguageError,
    resolve_program,
)


def _fake_bin(directory: Path, *names: str) -> Path:
    """Executables that `shutil.which` finds; resolution never runs them."""
    directory.mkdir()
    for name in names:
        exe = directory / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    return directory


@pytest.fixture
def bindir(tmp_path: Path) -> Path:
    return _fake_bin(tmp_path / "bin", "bash", "sh", "python3")


@pytest.fixture
def empty_path(tmp_path: Path) -> str:
    empty = tmp_path / "empty"
    empty.mkdir()
    return str(empty)


def test_interpreter_attribute_wins_over_frontmatter_shell_and_language(bindir: Path) -> None:
    program = resolve_program(
        "sh", interpreter="python3", frontmatter_shell="bash", path=str(bindir)
    )
    assert program.argv == (str(bindir / "python3"),)
    assert program.shell is None


def test_interpreter_attribute_keeps_its_arguments(bindir: Path) -> None:
    program = resolve_program("python", interpreter="python3 -u -X dev", path=str(bindir))
    assert program.argv == (str(bindir / "python3"), "-u", "-X", "dev")
    assert program.display == "python3 -u -X dev"


def test_interpreter_that_is_a_shell_gets_the_session_wrapper(bindir: Path) -> None:
    program = resolve_program("python", interpreter="bash", path=str(bindir))
    assert program.shell == "pipefail"


def test_frontmatter_shell_wins_over_language_table_for_shell_cells(bindir: Path) -> None:
    program = resolve_program("bash", frontmatter_shell="sh", path=str(bindir))
    assert program.argv == (str(bindir / "sh"),)
    assert program.shell == "posix"


def test_frontmatter_shell_does_not_apply_to_python_cells(bindir: Path) -> None:
    program = resolve_program("python", frontmatter_shell="sh", path=str(bindir))
    assert program.argv == (str(bindir / "python3"),)


@pytest.mark.parametrize(
    ("language", "expected", "shell"),
    [
        ("sh", "bash", "pipefail"),
        ("bash", "bash", "pipefail"),
        ("shell", "bash", "pipefail"),
        ("", "bash", "pipefail"),
        (" BASH ", "bash", "pipefail"),
        ("py", "python3", None),
        ("python", "python3", None),
        ("Python", "python3", None),
    ],
)
def test_language_table_maps_language_to_program(
    bindir: Path, language: str, expected: str, shell: str | None
) -> None:
    program = resolve_program(language, path=str(bindir))
    assert program.argv == (str(bindir / expected),)
    assert program.shell == shell


def test_shell_language_falls_back_to_sh_when_bash_is_missing(tmp_path: Path) -> None:
    only_sh = _fake_bin(tmp_path / "only-sh", "sh")
    program = resolve_program("bash", path=str(only_sh))
    assert program.argv == (str(only_sh / "sh"),)
    assert program.shell == "posix"


def test_unknown_language_error_names_the_language_and_cell(bindir: Path) -> None:
    with pytest.raises(UnknownLanguageError) as info:
        resolve_program("cobol", cell="payroll", path=str(bindir))
    message = str(info.value)
    assert "'cobol'" in message
    assert "'payroll'" in message
    assert "interpreter" in message  # tells the user how to fix it
    assert isinstance(info.value, KernelError)


@pytest.mark.parametrize(("language", "needed"), [("python", "python3"), ("sh", "bash")])
def test_program_missing_from_path_raises_program_not_found(
    empty_path: str, language: str, needed: str
) -> None:
    with pytest.raises(ProgramNotFoundError, match=needed) as info:
        resolve_program(language, path=empty_path)
    assert repr(language) in str(info.value)
    assert isinstance(info.value, KernelError)


def test_missing_interpreter_attribute_raises_program_not_found(empty_path: str) -> None:
    with pytest.raises(ProgramNotFoundError, match=r"'ruby -w'.*not on PATH"):
        resolve_program("sh", interpreter="ruby -w", path=empty_path)


def test_missing_frontmatter_shell_raises_program_not_found(empty_path: str) -> None:
    with pytest.raises(ProgramNotFoundError, match="frontmatter shell 'zsh'"):
        resolve_program("sh", frontmatter_shell="zsh", path=empty_path)


def test_session_resolves_programs_on_its_own_path(tmp_path: Path, empty_path: str) -> None:
    with (
        Session(cwd=tmp_path, env={"PATH": empty_path}) as session,
        pytest.raises(ProgramNotFoundError),
    ):
        session.run(CellSpec("echo hi", interactive=False))
