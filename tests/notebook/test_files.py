"""Reading runbooks with actionable errors, and writing them atomically."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

import pytest

from cairn.notebook import (
    NotebookFileError,
    format_diagnostics,
    load,
    read_text,
    serialize,
    write_atomic,
)

ORIGINAL = b"# Original\r\n\r\n```sh\r\necho keep me\r\n```\r\n"


def _runbook(tmp_path: Path, data: bytes = ORIGINAL, name: str = "README.md") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- load ---------------------------------------------------------------------------


def test_load_reads_bytes_without_newline_translation(tmp_path: Path) -> None:
    nb = load(_runbook(tmp_path))
    assert serialize(nb).encode() == ORIGINAL
    assert nb.newline == "\r\n"


def test_load_accepts_str_paths(tmp_path: Path) -> None:
    assert load(str(_runbook(tmp_path))).code_cells()[0].source == "echo keep me\n"


def test_load_missing_file_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "nope.md"
    with pytest.raises(NotebookFileError, match=r"nope\.md: no such file"):
        load(missing)


def test_load_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(NotebookFileError, match="is a directory, expected a Markdown file"):
        load(tmp_path)


def test_load_binary_file_is_rejected(tmp_path: Path) -> None:
    path = _runbook(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.md")
    with pytest.raises(NotebookFileError, match="binary file"):
        load(path)


def test_load_unreadable_file_says_permission_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests may run as root, where chmod 000 does not stop reads; simulate instead.
    path = _runbook(tmp_path)

    def deny(self: Path, *args: object, **kwargs: object) -> bytes:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    monkeypatch.setattr(Path, "open", deny)  # `load` reads the file a piece at a time
    with pytest.raises(NotebookFileError, match="permission denied"):
        load(path)
    with pytest.raises(NotebookFileError, match="permission denied"):
        read_text(path)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_load_invalid_utf8_names_the_line(tmp_path: Path, newline: bytes) -> None:
    data = newline.join([b"# Title", b"", b"caf\xe9 au lait", b""])
    path = _runbook(tmp_path, data)
    with pytest.raises(NotebookFileError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: invalid UTF-8")
    assert "0xe9" in message
    assert "save the file as UTF-8" in message


def test_load_invalid_utf8_line_counts_lone_cr_as_line_end(tmp_path: Path) -> None:
    # The parser treats a lone CR as a line ending (cell.line counts it); errors must agree.
    path = _runbook(tmp_path, b"# Title\r\rcaf\xe9\r")
    with pytest.raises(NotebookFileError, match=r":3: invalid UTF-8"):
        load(path)


def test_fence_open_at_end_of_file_is_read_to_the_end_with_one_warning(tmp_path: Path) -> None:
    # CommonMark (and so Runme) closes a fence at the end of the document.
    data = b"---\nshell: bash\n---\n\n```sh\necho never closed\n"
    path = _runbook(tmp_path, data)
    nb = load(path)
    (cell,) = nb.code_cells()
    assert cell.source == "echo never closed\n"
    assert serialize(nb).encode() == data
    (warning,) = format_diagnostics(nb, path)
    assert warning.startswith(f"{path}:5: warning: code fence ``` is never closed")
    assert "add a closing ``` line" in warning


def test_fence_ended_by_its_list_item_is_a_cell_without_warning(tmp_path: Path) -> None:
    # CommonMark ends the block with its list item: nothing after it is swallowed.
    path = _runbook(tmp_path, b"- step\n\n  ~~~~sh\n  echo\n- next\n")
    nb = load(path)
    (cell,) = nb.code_cells()
    assert cell.source == "echo\n"
    assert any("- next" in c.source for c in nb.cells if c.kind == "markup")
    assert nb.diagnostics == []
    cell.source = "echo edited\n"
    assert serialize(nb) == "- step\n\n  ~~~~sh\n  echo edited\n  ~~~~\n- next\n"


def test_four_space_indented_backticks_do_not_close_a_fence(tmp_path: Path) -> None:
    # CommonMark: a closing fence may be indented at most three spaces; this one is code.
    nb = load(_runbook(tmp_path, b"```sh\necho\n    ```\n"))
    assert nb.code_cells()[0].source == "echo\n    ```\n"
    assert [(d.line, "never closed" in d.message) for d in nb.diagnostics] == [(1, True)]


def test_load_accepts_fence_closed_by_longer_fence(tmp_path: Path) -> None:
    nb = load(_runbook(tmp_path, b"```sh\necho\n`````\n"))
    assert nb.code_cells()[0].source == "echo\n"


# --- write_atomic --------------------------------------------------------------------


def _leftovers(directory: Path, keep: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name != keep)


def test_write_atomic_replaces_content_exactly(tmp_path: Path) -> None:
    path = _runbook(tmp_path)
    write_atomic(path, "new\r\ncontent ✓\rno final newline")
    assert path.read_bytes() == "new\r\ncontent ✓\rno final newline".encode()
    assert _leftovers(tmp_path, path.name) == []


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_write_atomic_keeps_permission_bits(tmp_path: Path, mode: int) -> None:
    path = _runbook(tmp_path)
    path.chmod(mode)
    write_atomic(path, "x\n")
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_write_atomic_new_file_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.md", "hi\n")
    finally:
        os.umask(old)
    path = tmp_path / "new.md"
    assert path.read_bytes() == b"hi\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert _leftovers(tmp_path, "new.md") == []


def test_write_atomic_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_atomic("rel.md", "r\n")
    assert (tmp_path / "rel.md").read_bytes() == b"r\n"
    assert _leftovers(tmp_path, "rel.md") == []


def test_write_atomic_disk_full_on_rename_leaves_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _runbook(tmp_path)

    def full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(NotebookFileError, match="disk full; the file was not changed"):
        write_atomic(path, "replacement\n")
    monkeypatch.undo()
    assert path.read_bytes() == ORIGINAL
    assert _leftovers(tmp_path, path.name) == []


def test_write_atomic_failure_while_writing_leaves_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _runbook(tmp_path)

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(NotebookFileError, match="the file was not changed"):
        write_atomic(path, "replacement\n")
    monkeypatch.undo()
    assert path.read_bytes() == ORIGINAL
    assert _leftovers(tmp_path, path.name) == []


def test_write_atomic_into_unwritable_directory_leaves_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read-only directory makes creating the temp file fail; as root chmod would not,
    # so the failure is simulated where it happens.
    path = _runbook(tmp_path)

    def denied(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(NotebookFileError, match="cannot write"):
        write_atomic(path, "replacement\n")
    monkeypatch.undo()
    assert path.read_bytes() == ORIGINAL
    assert _leftovers(tmp_path, path.name) == []
