"""Importing Runme's JSON logs (runner v1 and v2 line shapes) as `cell.executed` events.

The fixture under data/runme/ follows Runme's runner source: zap's production JSON
encoder (`level`, `ts`, `caller`, `msg`), "received initial request" with the request
(v1: `_id`, `knownID`, `knownName`, protojson `req`; v2: `id`, Go-JSON `req.config`),
"command finished" with `exitCode`; plus what real logs also hold: other messages, two
executions interleaved, a console-format line, a request that never finished, a finish
whose request is not in the logs, and a torn last line.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from cairn.learnlog import CellExecuted, LearningLog, validate
from cairn.learnlog._reader import read_events
from cairn.learnlog._runme import import_runme, scan_runme

FIXTURE = Path(__file__).with_name("data") / "runme"

EXPECTED = [
    CellExecuted(
        event_id="01HWB8XRN4WRSDGPV79CKAXGKV",
        time="2024-04-25T18:40:13.987Z",
        session_id="01HWBX1A9D3E5F7G9H1J3K5M7N",
        known_id="01HWBWZK9A1B3C5D7E9F1G3H5J",
        known_name="deploy-api",
        language="bash",
        program="bash",
        source="export GITHUB_TOKEN=ghp_R7tYb2Kq9LmN4pX8sV1wZ3cD5fG7hJ0kM2nQ\n"
        "./scripts/deploy.sh api --env staging",
        interactive=True,
        cwd="/home/dev/ops",
        exit_code=1,
        duration_ms=985,
    ),
    CellExecuted(
        event_id="01HWB8XRXAS03RAB2VZEAGRSPS",
        time="2024-04-25T18:40:14.250Z",
        session_id="01HWBX1A9D3E5F7G9H1J3K5M7N",
        known_id="01HWBWZK8W2C4T7V0J3P5R6S9Q",
        known_name="list-pods",
        language="sh",
        program="bash",
        source="kubectl get pods -n prod",
        interactive=True,
        cwd="/home/dev/ops",
        exit_code=0,
        duration_ms=1737,
    ),
    CellExecuted(
        event_id="01HWB8Y031XTF97VVNGXV96A9B",
        time="2024-04-25T18:40:21.600Z",
        known_id="01HWBWZKB2C4D6E8F0G2H4J6K8",
        known_name="check-health",
        language="python",
        program="python3",
        source="import urllib.request\n"
        "print(urllib.request.urlopen('http://localhost:8080/healthz').status)",
        interactive=False,
        cwd="/home/dev/ops/tools",
        exit_code=0,
        duration_ms=1500,
    ),
    CellExecuted(
        event_id="01HWB9FXRZ3QZK8FDD164C2Y59",
        time="2024-04-25T18:50:09.055Z",
        session_id="01HWBXM9Z8Y7X6W5V4T3S2R1Q0",
        known_id="01HWBXKZ0Q1R2S3T4V5W6X7Y8Z",
        known_name="tf-plan",
        language="sh",
        program="bash",
        source="terraform plan -out=tf.plan",
        interactive=True,
        cwd="/srv/app",
        exit_code=2,
        duration_ms=8755,
    ),
    CellExecuted(
        event_id="01HWB9FZ3C7N7ADT3SR8A2S6SP",
        time="2024-04-25T18:50:10.412Z",
        known_id="01HWBXKZ1R2S3T4V5W6X7Y8Z9A",
        known_name="node-version",
        language="javascript",
        program="/usr/bin/env node",
        source="console.log(process.version)",
        interactive=False,
        cwd="/srv/app",
        exit_code=0,
        duration_ms=312,
    ),
]


def test_runme_logs_become_the_expected_cell_executed_events() -> None:
    assert import_runme(FIXTURE) == EXPECTED


def test_the_import_says_what_it_left_out() -> None:
    found = scan_runme(FIXTURE)
    assert (found.files, found.not_json, found.unfinished, found.orphans) == (2, 2, 1, 1)


def test_reimporting_gives_the_same_event_ids(tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere"
    shutil.copytree(FIXTURE, copy)
    assert [e.event_id for e in import_runme(copy)] == [e.event_id for e in EXPECTED]


def test_imported_events_are_valid_and_redacted_when_emitted(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    with LearningLog(logdir) as log:
        for event in import_runme(FIXTURE):
            log.emit(event)
    read = [event for _, event in read_events(logdir)]
    assert [e["known_name"] for e in read] == [e.known_name for e in EXPECTED]
    for data in read:
        validate(data)
    assert read[0]["source"].startswith("export GITHUB_TOKEN=[REDACTED:")
    assert "ghp_" not in "".join(p.read_text() for p in logdir.glob("events-*.jsonl"))


def test_a_directory_without_runme_logs_imports_nothing(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("received initial request")
    assert import_runme(tmp_path) == []


# Runme 3.9.1 and later log "received initial request" at debug level, so a log at the
# default info level holds, per run: runner v1 — "running Execute in runnerService" and
# "command finished" with `_id`, `knownID`/`knownName` (when the cell has them) and
# `exitCode`; runner v2 — "received request" with the initial request, and "command
# finished" twice (once from the execution, once from the service), with `id`, `exitCode`.
INFO_FIXTURE = Path(__file__).with_name("data") / "runme-info"

EXPECTED_INFO = [
    CellExecuted(
        event_id="",
        time="2024-10-27T03:33:31.350Z",
        known_id="01JB2Q7ZK3A1B3C5D7E9F1G3H5",
        known_name="list-pods",
        interactive=False,
        exit_code=0,
        duration_ms=1250,
    ),
    CellExecuted(
        event_id="",
        time="2024-10-27T03:33:33.900Z",
        known_name="deploy-api",
        interactive=False,
        exit_code=1,
        duration_ms=3500,
    ),
    CellExecuted(
        event_id="",
        time="2024-10-27T03:35:09.055Z",
        session_id="01JB2QA0X1Y2Z3A4B5C6D7E8F9",
        known_id="01JB2QA1M2N3P4Q5R6S7T8V9W0",
        known_name="tf-plan",
        language="sh",
        program="bash",
        source="terraform plan -out=tf.plan",
        interactive=True,
        cwd="/srv/app",
        exit_code=2,
        duration_ms=8855,
    ),
    CellExecuted(
        event_id="",
        time="2024-10-27T03:35:10.412Z",
        known_id="01JB2QA1M3N4P5Q6R7S8T9V0W1",
        known_name="node-version",
        language="javascript",
        program="/usr/bin/env node",
        source="console.log(process.version)",
        interactive=False,
        cwd="/srv/app",
        exit_code=0,
        duration_ms=312,
    ),
]


def _without_ids(events: list[CellExecuted]) -> list[CellExecuted]:
    return [replace(event, event_id="") for event in events]


def test_info_level_logs_of_current_runme_import_from_command_finished_alone() -> None:
    assert _without_ids(import_runme(INFO_FIXTURE)) == EXPECTED_INFO


def test_the_v2_runners_two_command_finished_lines_count_once() -> None:
    found = scan_runme(INFO_FIXTURE)
    assert len(found.events) == len({e.event_id for e in found.events}) == 4
    # Left out: a v1 cell with neither id nor name, and a v2 run known only by its two
    # "command finished" lines (nothing ties either to a cell), each counted once; and a
    # v1 run that started and never finished.
    assert (found.files, found.not_json, found.unfinished, found.orphans) == (2, 0, 1, 2)


def test_finish_only_imports_keep_stable_ids(tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere"
    shutil.copytree(INFO_FIXTURE, copy)
    first = [e.event_id for e in import_runme(INFO_FIXTURE)]
    assert [e.event_id for e in import_runme(copy)] == first
    assert len(first) == 4 and all(len(event_id) == 26 for event_id in first)
