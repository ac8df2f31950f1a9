"""Bad input: one clear message, the right exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess

import pytest

from cairn.learnlog import read_events

from .conftest import CAIRN


def _clean_error(result, code: int = 2) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_missing_file(cairn, tmp_path) -> None:
    message = _clean_error(cairn("list", str(tmp_path / "nope.md")))
    assert "nope.md: no such file" in message


def test_missing_default_readme(cairn, tmp_path) -> None:
    message = _clean_error(cairn("list", cwd=tmp_path))
    assert "README.md: no such file" in message


def test_directory_instead_of_file(cairn, tmp_path) -> None:
    assert "is a directory" in _clean_error(cairn("list", str(tmp_path)))


def test_binary_file(cairn, tmp_path) -> None:
    path = tmp_path / "blob.md"
    path.write_bytes(b"\x7fELF\x00\x00\x01binary")
    assert "binary" in _clean_error(cairn("list", str(path)))


def test_invalid_utf8_names_the_line(cairn, tmp_path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("# ok\n\ncaf\xe9\n".encode("latin-1"))
    message = _clean_error(cairn("list", str(path)))
    assert "latin1.md:3" in message and "UTF-8" in message


def test_unterminated_fence_is_read_to_the_end_with_a_warning(cairn, runbook) -> None:
    # CommonMark, and so Runme, closes a fence at the end of the document.
    path = runbook("# t\n\n```sh\necho never closed\n")
    result = cairn("list", str(path))
    assert result.returncode == 0, result.stderr
    assert "echo never closed" in result.stdout
    assert "README.md:3: warning:" in result.stderr and "never closed" in result.stderr


def test_duplicate_names_are_ambiguous(cairn, runbook) -> None:
    path = runbook('```sh {"name":"x"}\necho 1\n```\n\n```sh {"name":"x"}\necho 2\n```\n')
    message = _clean_error(cairn("run", "x", "--file", str(path)))
    assert "2 cells are named 'x'" in message and "lines 1, 5" in message


def test_unknown_cell_suggests_closest_names(cairn, runbook) -> None:
    path = runbook('```sh {"name":"deploy-app"}\necho 1\n```\n')
    message = _clean_error(cairn("run", "deploy-ap", "--file", str(path)))
    assert "no cell named 'deploy-ap'" in message and "did you mean 'deploy-app'" in message


def test_unknown_language_is_named(cairn, runbook) -> None:
    path = runbook('```cobol {"name":"old"}\nDISPLAY "HI".\n```\n')
    message = _clean_error(cairn("run", "old", "--file", str(path)))
    assert "unknown language 'cobol'" in message and "interpreter" in message


def test_cell_that_never_ends_is_stopped_by_timeout(cairn, runbook) -> None:
    path = runbook('```sh {"name":"hang","interactive":"false"}\nsleep 600\n```\n')
    result = cairn("run", "hang", "--timeout", "1s", "--file", str(path), timeout=30)
    assert result.returncode in (130, 137)
    assert "timed out" in result.stderr and "Traceback" not in result.stderr


def test_timeout_attribute_on_the_cell(cairn, runbook) -> None:
    path = runbook(
        '```sh {"name":"hang","interactive":"false","timeout":"500ms"}\nsleep 600\n```\n'
    )
    result = cairn("run", "hang", "--file", str(path), timeout=30)
    assert result.returncode == 130 and "timed out" in result.stderr


@pytest.mark.parametrize("value", ["soon", "-1", "0"])
def test_invalid_timeout_is_rejected(cairn, runbook, value) -> None:
    path = runbook('```sh {"name":"a"}\necho a\n```\n')
    result = cairn("run", "a", "--timeout", value, "--file", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    # click's usage error: the usage line, then the one that names the option and range.
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("Error: Invalid value for '--timeout': invalid timeout"), error
    assert "at most 168h" in error


def test_flooding_cell_is_bounded_and_reported(cairn, runbook) -> None:
    path = runbook(
        '```sh {"name":"flood","interactive":"false"}\n'
        'head -c 50000000 /dev/zero | tr "\\0" x\n```\n'
    )
    result = cairn(
        "run", "flood", "--output-limit", "1", "--write-outputs", "--file", str(path), timeout=120
    )
    assert result.returncode == 0
    assert len(result.stdout) == 50_000_000  # streamed live in full
    assert "dropped 47902848 bytes" in result.stderr
    session = next(path.parent.glob("README-*.md")).read_text()
    assert "bytes of output dropped" in session
    assert len(session) < 3 * (1 << 20)


def test_usage_errors_are_one_clear_message(cairn) -> None:
    result = cairn("run", "--bogus")
    assert (
        result.returncode == 2 and "No such option" in result.stderr and "--bogus" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_run_without_cells_explains_what_to_do(cairn, runbook) -> None:
    path = runbook("# nothing\n")
    assert "--all" in _clean_error(cairn("run", "--file", str(path)))


def test_fmt_write_on_unwritable_directory_keeps_file(cairn, runbook) -> None:
    path = runbook("```sh\necho a\n```\n")
    before = path.read_bytes()
    os.chmod(path.parent, 0o555)
    try:
        result = cairn("fmt", str(path), "--write", "--identity", "cell")
    finally:
        os.chmod(path.parent, 0o755)
    if os.geteuid() == 0:
        # root ignores directory permissions: the write succeeds, and must be complete.
        assert result.returncode == 0
        assert parse_ids(path.read_text()) == 1
    else:
        assert "cannot write" in _clean_error(result)
        assert path.read_bytes() == before


def parse_ids(text: str) -> int:
    from cairn.notebook import parse

    return sum(1 for c in parse(text).code_cells() if c.attributes.get("id"))


def test_a_store_that_is_not_a_database_is_one_clear_error(cairn, tmp_path) -> None:
    store = tmp_path / "notes.db"
    store.write_bytes(b"my notes, not a database\n" * 100)
    message = _clean_error(cairn("index", "stats", "--store", str(store)))
    assert "not a usable Cairn store" in message
    assert store.read_bytes().startswith(b"my notes")


def test_run_refuses_to_start_without_its_learning_log(cairn, runbook, tmp_path) -> None:
    marker = tmp_path / "ran"
    path = runbook(f'```sh {{"name":"touch","interactive":"false"}}\ntouch {marker}\n```\n')
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cairn("run", "touch", "--file", str(path), "--config-dir", str(blocker / "sub"))
    assert result.returncode != 0
    assert (
        "cannot write the learning log" in result.stderr and "--no-learning-logs" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not marker.exists()
    allowed = cairn(
        "run",
        "touch",
        "--file",
        str(path),
        "--config-dir",
        str(blocker / "sub"),
        "--no-learning-logs",
    )
    assert allowed.returncode == 0 and marker.exists()


def test_config_dir_option_moves_the_default_store_too(cairn, runbook, tmp_path) -> None:
    path = runbook("# Title\n\nSome text to index.\n")
    config = tmp_path / "cfg"
    added = cairn("--config-dir", str(config), "index", "add", str(path), "--embedder", "hash")
    assert added.returncode == 0, added.stderr
    assert (config / "cairn.db").exists()


def test_run_with_stdout_on_a_full_disk_still_runs_and_records_the_cell(runbook, tmp_path) -> None:
    path = runbook('```sh {"name":"talk","interactive":"false"}\necho said\n```\n')
    config = tmp_path / "cfg"
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [CAIRN, "run", "talk", "--file", str(path), "--config-dir", str(config)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stderr
    assert "cannot echo the cell's stdout" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    executed = [e for _, e in read_events(config / "logs") if e["type"] == "cell.executed"]
    assert [e["stdout"] for e in executed] == ["said\n"]
