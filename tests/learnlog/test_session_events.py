"""`SessionEvents`: the one place a session's execution becomes learning events, used by
`cairn run` and `cairn serve` alike."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn import learnlog
from cairn.kernel import cell_spec, session_for
from cairn.notebook import parse

RUNBOOK = "# Demo\n\n```sh {name=hello}\necho hello\n```\n"


@pytest.fixture
def config_dir(tmp_path: Path) -> Iterator[Path]:
    learnlog.configure(tmp_path, enabled=True)
    try:
        yield tmp_path
    finally:
        learnlog.configure(None, enabled=False)


def _events(config_dir: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for path in sorted((config_dir / "logs").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


@pytest.mark.parametrize("queued", [False, True])
def test_a_session_records_started_cell_started_executed_and_ended(
    config_dir: Path, tmp_path: Path, queued: bool
) -> None:
    file = tmp_path / "README.md"
    file.write_text(RUNBOOK)
    nb = parse(RUNBOOK)
    cell = nb.code_cells()[0]
    events = learnlog.SessionEvents(session_id="s1", path=file, nb=nb, client="cli", queued=queued)
    with session_for(nb, file) as session:
        spec = cell_spec(cell)
        events.started(session.cwd)
        result = events.run_cell(session, cell, spec, lambda: session.run(spec))
        events.ended(cells_run=1, failures=0 if result.ok else 1, seconds=0.5)

    got = _events(config_dir)
    assert [e["type"] for e in got] == [
        "session.started",
        "cell.started",
        "cell.executed",
        "session.ended",
    ]
    assert {e["session_id"] for e in got} == {"s1"}
    assert got[0]["client"] == "cli"
    assert got[1]["notebook_path"] == str(file)
    assert got[1]["known_name"] == "hello"
    assert got[2]["exit_code"] == 0
    assert got[2]["stdout"] == "hello\n"
    assert got[3]["cells_run"] == 1
    assert got[3]["duration_ms"] == 500


def test_a_disabled_session_records_nothing(config_dir: Path, tmp_path: Path) -> None:
    events = learnlog.SessionEvents(
        session_id="s2", path=None, nb=None, client="server", enabled=False
    )
    events.started(str(tmp_path))
    events.ended(cells_run=0, failures=0, seconds=0.0)
    learnlog.flush()
    assert _events(config_dir) == []
