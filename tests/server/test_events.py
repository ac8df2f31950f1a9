"""One cell, two ways to run it: the server and `cairn run` record the same event."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import CELL_ID, Served, execute, executed_events

CAIRN = str(Path(sys.executable).with_name("cairn"))
# Fields that differ between any two runs, whoever runs them.
PER_RUN = {"event_id", "time", "session_id", "duration_ms", "notebook_id"}


def test_server_and_cairn_run_record_identical_cell_executed_events(
    served: Served, tmp_path: Path
) -> None:
    run = execute(served, {"path": "ops.md", "cell": "hello"})
    assert run.exited["exit_code"] == 0
    (from_server,) = executed_events(served.log_dir)

    cli_config = tmp_path / "cli-config"
    env = {k: v for k, v in os.environ.items() if k != "CAIRN_DEBUG"}
    env["CAIRN_CONFIG_DIR"] = str(cli_config)
    result = subprocess.run(
        [CAIRN, "run", "hello", "--file", str(served.runbook)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    (from_cli,) = executed_events(cli_config / "logs")

    def comparable(event: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in event.items() if k not in PER_RUN}

    assert comparable(from_server) == comparable(from_cli)
    assert from_server["known_id"] == CELL_ID
    assert from_server["stdout"] == "hello out\n"
    assert set(from_server) == set(from_cli)
