"""Commands that read a store (`cairn stats`, `cairn suggest`; the `index` ones are in
tests/index) refuse a `--store` that does not exist instead of creating an empty one."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import run_cairn

RUNBOOK = '# Disk\n\n```sh {"name":"df"}\ndf -h\n```\n'
REFUSED = "cairn: error: typo/x.db: no such store; check the path (reading never creates one)"


@pytest.mark.parametrize("command", [("stats",), ("stats", "--json"), ("suggest", "disk.md")])
def test_a_read_command_refuses_a_missing_store(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "disk.md").write_text(RUNBOOK)
    config = tmp_path / "cfg"
    result = run_cairn(*command, "--store", "typo/x.db", "--config-dir", str(config), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [REFUSED]
    assert not (tmp_path / "typo").exists()
    assert not (config / "cairn.db").exists()
