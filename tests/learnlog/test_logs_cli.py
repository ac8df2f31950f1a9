"""`cairn logs path|tail|stats` over a learning log written by real `cairn run`s."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

CAIRN = str(Path(sys.executable).with_name("cairn"))


def _cairn(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CAIRN, *args, "--config-dir", str(config)], capture_output=True, text=True, timeout=60
    )


def _book(tmp_path: Path) -> Path:
    book = tmp_path / "ops.md"
    book.write_text(
        '```sh {"name":"ok","interactive":"false"}\necho fine\n```\n\n'
        '```sh {"name":"bad","interactive":"false"}\nexit 4\n```\n'
    )
    return book


def test_logs_path_follows_the_config_dir(tmp_path: Path) -> None:
    out = _cairn(tmp_path / "cfg", "logs", "path")
    assert out.stdout.strip() == str(tmp_path / "cfg" / "logs")
    env_out = subprocess.run(
        [CAIRN, "logs", "path"],
        capture_output=True,
        text=True,
        env={**os.environ, "CAIRN_CONFIG_DIR": str(tmp_path / "env")},
    )
    assert env_out.stdout.strip() == str(tmp_path / "env" / "logs")


def test_tail_and_stats_report_what_runs_recorded(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    book = _book(tmp_path)
    assert _cairn(config, "run", "ok", "--file", str(book)).returncode == 0
    assert _cairn(config, "run", "bad", "--file", str(book)).returncode == 4
    tail = _cairn(config, "logs", "tail", "-n", "3")
    lines = tail.stdout.splitlines()
    assert len(lines) == 3
    assert "cell.executed" in lines[1] and "bad exit=4" in lines[1]
    as_json = _cairn(config, "logs", "tail", "-n", "8", "--json")
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [e["type"] for e in events].count("cell.executed") == 2
    stats = json.loads(_cairn(config, "logs", "stats", "--json").stdout)
    assert stats["events"] == 8
    assert stats["events_by_type"] == {
        "cell.executed": 2,
        "cell.started": 2,
        "session.ended": 2,
        "session.started": 2,
    }
    assert stats["files"] == 1 and stats["bytes"] > 0 and stats["skipped_lines"] == 0


def test_tail_without_a_log_is_one_clear_error(tmp_path: Path) -> None:
    out = _cairn(tmp_path / "empty", "logs", "tail")
    assert out.returncode != 0
    assert "no learning log" in out.stderr and "Traceback" not in out.stderr


def test_tail_follow_prints_new_events_as_they_arrive(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    book = _book(tmp_path)
    assert _cairn(config, "run", "ok", "--file", str(book)).returncode == 0
    follower = subprocess.Popen(
        [CAIRN, "logs", "tail", "--follow", "--json", "-n", "1", "--config-dir", str(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        stdout = follower.stdout
        threading.Thread(target=lambda: [lines.put(ln) for ln in stdout], daemon=True).start()
        # The last existing event comes first: from then on the follower is reading.
        assert json.loads(lines.get(timeout=30))["type"] == "session.ended"
        assert _cairn(config, "run", "bad", "--file", str(book)).returncode == 4
        seen: list[dict[str, object]] = []
        deadline = time.monotonic() + 30
        while len(seen) < 4 and time.monotonic() < deadline:
            try:
                seen.append(json.loads(lines.get(timeout=0.5)))
            except queue.Empty:
                continue
        assert [e["type"] for e in seen] == [
            "session.started",
            "cell.started",
            "cell.executed",
            "session.ended",
        ]
        assert seen[2]["exit_code"] == 4
    finally:
        follower.kill()
        follower.wait()


def test_import_runme_records_executions_once(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    data = Path(__file__).with_name("data") / "runme"
    first = _cairn(config, "learnlog", "import-runme", str(data))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("imported 5 executions (0 already there)")
    again = _cairn(config, "learnlog", "import-runme", str(data))
    assert again.stdout.startswith("imported 0 executions (5 already there)")
    stats = json.loads(_cairn(config, "logs", "stats", "--json").stdout)
    assert stats["events_by_type"] == {"cell.executed": 5}
