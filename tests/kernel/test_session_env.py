"""A session carries exported env vars and the cwd from cell to cell, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.kernel import CellSpec, Session


def _run(session: Session, source: str, name: str = "", interactive: bool = False) -> str:
    return session.run(CellSpec(source, name=name, interactive=interactive)).process.stdout.text


@pytest.mark.parametrize("interactive", [False, True])
def test_exported_variable_is_visible_in_the_next_cell(session: Session, interactive: bool) -> None:
    _run(session, "export GREETING='hello world'", interactive=interactive)
    assert _run(session, 'echo "$GREETING"', interactive=interactive) == "hello world\n"
    assert session.env["GREETING"] == "hello world"


def test_exported_value_with_newlines_survives(session: Session) -> None:
    _run(session, "export MULTI=$'line one\\nline two'")
    assert session.env["MULTI"] == "line one\nline two"
    assert _run(session, 'printf "%s" "$MULTI"') == "line one\nline two"


def test_unset_removes_the_variable_from_the_session(session: Session) -> None:
    _run(session, "export DOOMED=1")
    result = session.run(CellSpec("unset DOOMED", interactive=False))
    assert result.env_changed == ["DOOMED"]
    assert "DOOMED" not in session.env
    assert _run(session, 'echo "[${DOOMED-unset}]"') == "[unset]\n"


def test_cd_carries_over_to_the_next_cell(session: Session, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    result = session.run(CellSpec("cd sub", interactive=False))
    assert result.cwd_before == str(tmp_path)
    assert result.cwd_after == str(tmp_path / "sub")
    assert _run(session, "pwd") == f"{tmp_path / 'sub'}\n"


def test_non_exported_variable_does_not_carry_over(session: Session) -> None:
    result = session.run(CellSpec("LOCAL_ONLY=1; echo $LOCAL_ONLY", interactive=False))
    assert result.process.stdout.text == "1\n"
    assert result.env_changed == []
    assert _run(session, 'echo "[${LOCAL_ONLY-unset}]"') == "[unset]\n"


@pytest.mark.parametrize("interactive", [False, True])
def test_last_output_variable_holds_previous_stdout(session: Session, interactive: bool) -> None:
    _run(session, "echo first; echo noise >&2", interactive=False)
    assert _run(session, 'echo "prev=[$__]"', interactive=interactive) == "prev=[first]\n"
    assert _run(session, 'echo "prev=[$__]"') == "prev=[prev=[first]]\n"


def test_upper_case_cell_name_exports_its_stdout(session: Session) -> None:
    result = session.run(CellSpec("echo 42", name="MY_VAR", interactive=False))
    assert result.env_changed == ["MY_VAR"]
    assert session.env["MY_VAR"] == "42"
    assert _run(session, 'echo "got $MY_VAR"') == "got 42\n"


def test_lower_case_cell_name_does_not_export(session: Session) -> None:
    result = session.run(CellSpec("echo 42", name="my_var", interactive=False))
    assert result.env_changed == []
    assert "my_var" not in session.env
    assert _run(session, 'echo "[${my_var-unset}]"') == "[unset]\n"


def test_failed_upper_case_cell_does_not_export(session: Session) -> None:
    session.run(CellSpec("echo partial; exit 1", name="MY_VAR", interactive=False))
    assert "MY_VAR" not in session.env


def test_env_changed_lists_names_never_values(session: Session) -> None:
    source = "export API_TOKEN=s3cr3t-value\nexport REGION=eu-west-1\n"
    result = session.run(CellSpec(source, interactive=False))
    assert result.env_changed == ["API_TOKEN", "REGION"]
    assert "s3cr3t-value" not in repr(result.env_changed)


def test_cell_that_does_nothing_changes_nothing(session: Session) -> None:
    env_before = dict(session.env)
    result = session.run(CellSpec("true", interactive=False))
    assert result.env_changed == []
    assert {k: v for k, v in session.env.items() if k != "__"} == env_before


def test_cell_with_its_own_exit_trap_still_carries_env_and_cwd(
    session: Session, tmp_path: Path
) -> None:
    # `trap cleanup EXIT` is a common runbook idiom; it must not cost the session its state.
    (tmp_path / "sub").mkdir()
    source = "trap 'echo cleaned up' EXIT\nexport AFTER_TRAP=yes\ncd sub\n"
    result = session.run(CellSpec(source, interactive=False))
    assert result.process.stdout.text == "cleaned up\n"
    assert session.env.get("AFTER_TRAP") == "yes"
    assert session.cwd == str(tmp_path / "sub")
