"""The learning log is a contract: shapes change only with a version bump, and a real
execution produces exactly the documented `cell.executed` fields."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cairn.learnlog import SCHEMA_VERSION, json_schema, validate

GOLDEN = Path(__file__).with_name("schema.json")
CAIRN = str(Path(sys.executable).with_name("cairn"))


def _read_events(config_dir: Path) -> list[dict[str, object]]:
    events = []
    for path in sorted((config_dir / "logs").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            events.append(json.loads(line))
    return events


def test_event_shapes_match_the_golden_schema_unless_the_version_was_bumped() -> None:
    golden = json.loads(GOLDEN.read_text())
    current = json.loads(json.dumps(json_schema(), sort_keys=True))
    if golden["schema_version"] == SCHEMA_VERSION:
        assert current == golden, (
            "learning event shapes changed without a version bump: bump SCHEMA_VERSION in"
            " cairn/learnlog/_events.py, then `cairn learnlog schema > tests/learnlog/schema.json`"
        )
    else:
        assert golden["schema_version"] < SCHEMA_VERSION, "the schema version went backwards"


def test_schema_command_prints_the_golden_schema() -> None:
    out = subprocess.run([CAIRN, "learnlog", "schema"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == json.loads(GOLDEN.read_text())


def test_a_real_cell_run_through_the_cli_records_exact_cell_executed_fields(tmp_path: Path) -> None:
    book = tmp_path / "ops.md"
    book.write_text(
        "---\nrunme:\n  id: 01HF7B0KJH9FJZR3CM4C3VE08B\n  version: v3\n---\n\n"
        '```sh {"id":"01HF7BT3HEQBTBM9SSSDX5XSD1","name":"deploy","interactive":"false"}\n'
        'export REGION=eu\necho "deploying to $REGION"\necho warn >&2\nexit 3\n```\n'
    )
    config = tmp_path / "config"
    result = subprocess.run(
        [CAIRN, "run", "deploy", "--file", str(book), "--config-dir", str(config)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 3
    events = _read_events(config)
    assert [e["type"] for e in events] == [
        "session.started",
        "cell.started",
        "cell.executed",
        "session.ended",
    ]
    for event in events:
        validate(event)
        assert event["schema"] == SCHEMA_VERSION
    executed = events[2]
    variable = {"event_id", "time", "session_id", "duration_ms"}
    assert {k: v for k, v in executed.items() if k not in variable} == {
        "type": "cell.executed",
        "schema": SCHEMA_VERSION,
        "notebook_path": str(book),
        "notebook_id": "01HF7B0KJH9FJZR3CM4C3VE08B",
        "known_id": "01HF7BT3HEQBTBM9SSSDX5XSD1",
        "known_name": "deploy",
        "language": "sh",
        "program": "bash",
        "source": 'export REGION=eu\necho "deploying to $REGION"\necho warn >&2\nexit 3\n',
        "interactive": False,
        "cwd": str(tmp_path),
        "exit_code": 3,
        "stdout": "deploying to eu\n",
        "stderr": "warn\n",
        "stdout_truncated": 0,
        "stderr_truncated": 0,
        "env_changed": ["REGION"],
        "timed_out": False,
        "cancelled": False,
    }
    assert len({e["session_id"] for e in events}) == 1
    assert events[3]["cells_run"] == 1 and events[3]["failures"] == 1


def test_no_learning_logs_writes_nothing(tmp_path: Path) -> None:
    book = tmp_path / "ops.md"
    book.write_text('```sh {"name":"a","interactive":"false"}\necho a\n```\n')
    config = tmp_path / "config"
    subprocess.run(
        [CAIRN, "run", "a", "--file", str(book), "--config-dir", str(config), "--no-learning-logs"],
        check=True,
        capture_output=True,
    )
    assert not (config / "logs").exists() or not list((config / "logs").glob("*.jsonl"))


def test_a_suggestion_event_of_schema_1_still_reads_with_its_new_fields_unknown() -> None:
    """Schema 2 added `source`, `sources` and `confidence` to `suggestion.generated`;
    events written before carry none of them and stay valid."""
    from cairn.learnlog import SuggestionGenerated

    old = {
        "type": "suggestion.generated",
        "schema": 1,
        "event_id": "01HF7B0KJH9FJZR3CM4C3VE08B",
        "time": "2026-01-01T00:00:00.000Z",
        "session_id": None,
        "trace_id": "t1",
        "model": "openai:x",
        "notebook_path": None,
        "after_cell_id": None,
        "cells": [{"id": "c1", "kind": "code", "language": "sh", "source": "ls\n"}],
        "latency_ms": 12,
    }
    event = validate(old)
    assert isinstance(event, SuggestionGenerated)
    assert (event.source, event.sources, event.confidence) == ("", [], None)
    golden = json.loads(GOLDEN.read_text())
    assert golden["schema_version"] == SCHEMA_VERSION == 2
    fields = golden["events"]["suggestion.generated"]["properties"]
    assert {"source", "sources", "confidence"} <= set(fields)
