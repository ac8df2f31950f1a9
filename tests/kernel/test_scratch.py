"""A session's scratch directory: owner-only files whatever the umask, named after its
owner process, and gone on every way out of the session."""

from __future__ import annotations

import gc
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.kernel import CellSpec, Session

from .._wait import wait_until
from ._processes import is_gone


@pytest.fixture
def scratch_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's sessions put their directories (tempfile's TMPDIR)."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _only_dir(root: Path) -> Path:
    [found] = list(root.iterdir())
    return found


def _modes(directory: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}


@pytest.mark.usefixtures("open_umask")
def test_session_files_are_owner_only_even_with_umask_0(
    scratch_root: Path, tmp_path: Path, clean_env: dict[str, str]
) -> None:
    with Session(cwd=tmp_path, env=clean_env, grace=0.3, linger=0.3) as session:
        directory = _only_dir(scratch_root)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert directory.name.startswith(f"cairn-session-{os.getpid()}-")
        cell = CellSpec("export TOKEN=secret-value", name="env", interactive=False)
        execution, program, state = session.prepare(cell)
        execution.start()
        # The shell has written the state (the whole environment) and exited; it is not
        # reaped yet, so the state file is still there to look at.
        assert wait_until(lambda: is_gone(execution.pid))
        assert state is not None and b"secret-value" in state.read_bytes()
        modes = _modes(directory)
        assert set(modes) == {"0001-env.sh", "0001-env.wrapper.sh", "0001-env.state"}
        assert set(modes.values()) == {0o600}, modes
        session.finish(cell, program, execution, state)
        assert session.env["TOKEN"] == "secret-value"
        session.run(CellSpec("print(1)", language="python", name="py", interactive=False))
        assert set(_modes(directory).values()) == {0o600}
    assert list(scratch_root.iterdir()) == []


def test_noclobber_in_a_cell_does_not_lose_its_exports(session: Session) -> None:
    session.run(CellSpec("set -o noclobber\nexport KEPT=yes", interactive=False))
    assert session.env.get("KEPT") == "yes"


def test_the_directory_goes_when_the_session_block_raises(
    scratch_root: Path, clean_env: dict[str, str]
) -> None:
    with pytest.raises(RuntimeError), Session(env=clean_env):
        assert len(list(scratch_root.iterdir())) == 1
        raise RuntimeError("boom")
    assert list(scratch_root.iterdir()) == []


def test_the_directory_goes_with_a_session_nobody_closed(
    scratch_root: Path, clean_env: dict[str, str]
) -> None:
    session = Session(env=clean_env)
    session.run(CellSpec("echo hi", interactive=False))
    assert len(list(scratch_root.iterdir())) == 1
    del session
    gc.collect()
    assert list(scratch_root.iterdir()) == []


def test_the_directory_goes_when_the_interpreter_exits_without_close(tmp_path: Path) -> None:
    code = "from cairn.kernel import Session\nkept = Session()\nprint('made')\n"
    env = dict(os.environ, TMPDIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout == "made\n", done.stderr
    assert list(tmp_path.glob("cairn-session-*")) == []
