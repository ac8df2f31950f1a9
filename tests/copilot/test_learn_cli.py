"""`cairn learn [--follow]` and `cairn stats` end to end: the real console script over a
config dir whose learning log was written by real `cairn run`s (or `cairn.learnlog`)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cairn.copilot._examples import ExampleIndex
from cairn.copilot._learn import RERUN_WINDOW, Learner
from cairn.learnlog import SessionEnded, read_events
from cairn.llm import open_embedder
from cairn.store import open_store

from ._events import EventLog, accepted, at, ran, suggestion

CAIRN = str(Path(sys.executable).with_name("cairn"))

RUNBOOK = """# Is the service up?

Ask the health endpoint.

```sh {"name":"check","interactive":"false"}
echo "GET /helth -> 200"
```
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}


def cairn(cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CAIRN, *args, "--config-dir", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=cfg.parent,
    )


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "cfg"


# -- cairn learn --------------------------------------------------------------------------


def test_a_wrong_command_fixed_in_the_file_and_run_again_is_not_learned(
    cfg: Path, tmp_path: Path
) -> None:
    book = tmp_path / "up.md"
    book.write_text(RUNBOOK)
    first = cairn(cfg, "run", "check", "--file", str(book))
    assert first.returncode == 0, first.stderr  # the typo "works"
    book.write_text(RUNBOOK.replace("/helth", "/health"))
    second = cairn(cfg, "run", "check", "--file", str(book))
    assert second.returncode == 0, second.stderr
    runs = [e for _, e in read_events(cfg / "logs") if e["type"] == "cell.executed"]
    assert len({e["session_id"] for e in runs}) == 2  # two processes, two sessions

    learned = cairn(cfg, "learn", "--embedder", "hash", "--json")
    assert learned.returncode == 0, learned.stderr
    counts = json.loads(learned.stdout)["learn"]
    assert (counts["executions"], counts["replaced"], counts["learned"]) == (2, 1, 0)
    assert counts["pending"] == 1  # the fixed run: learned once the window has passed

    summary = cairn(cfg, "learn", "--embedder", "hash")
    assert summary.returncode == 0, summary.stderr
    assert "learned 0 examples from 0 executions" in summary.stdout
    assert "1 pending (learned unless run again in edited form within 10 min)" in summary.stdout

    # The same store and log later on: the window has passed without another edit.
    with open_store(cfg / "cairn.db") as kv:
        index = ExampleIndex(kv, open_embedder("hash"))  # what `--embedder hash` opens
        ran_at = datetime.fromisoformat(runs[-1]["time"])
        later = Learner(
            kv, cfg / "logs", index, clock=lambda: ran_at + timedelta(seconds=RERUN_WINDOW + 1)
        ).run()
        assert (later.events, later.learned, later.pending) == (0, 1, 0)
        (example,) = list(index)
        assert example.cell == 'echo "GET /health -> 200"\n'
        assert example.query == "# Is the service up?\n\nAsk the health endpoint."
        assert example.source.startswith(f"{book.resolve()}#")


def test_learn_on_an_empty_config_dir_reports_nothing_and_exits_0(cfg: Path) -> None:
    result = cairn(cfg, "learn", "--embedder", "hash", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["analyze"]["events"] == 0 and data["learn"]["events"] == 0
    assert data["learn"]["offset"] is None


def test_learn_skips_unreadable_lines_and_says_so(cfg: Path) -> None:
    events = EventLog(cfg / "logs")
    events.write(ran("A", "cd /srv", t=0))
    events.append_raw(b"{torn by a crash\n")
    events.write(ran("B", "ls /srv", t=1), SessionEnded(time=at(2), session_id="S1"))
    result = cairn(cfg, "learn", "--embedder", "hash")
    assert result.returncode == 0, result.stderr
    assert "learned 1 examples from 2 executions" in result.stdout
    assert "1 unreadable events skipped" in result.stdout


def test_learn_refuses_another_embedder_than_the_examples_were_made_with(cfg: Path) -> None:
    events = EventLog(cfg / "logs")
    events.write(ran("A", "cd /srv", t=0), ran("B", "ls", t=1), SessionEnded(session_id="S1"))
    assert cairn(cfg, "learn", "--embedder", "hash").returncode == 0
    result = cairn(cfg, "learn", "--embedder", "local")
    assert result.returncode == 2
    assert result.stderr.startswith("cairn: error: the learned examples were embedded with")
    assert "Traceback" not in result.stderr


class Follower:
    """`cairn learn --follow --json` with its stdout read line by line."""

    def __init__(self, cfg: Path) -> None:
        options = ["--interval", "0.1", "--embedder", "hash", "--json"]
        self.proc = subprocess.Popen(
            [CAIRN, "learn", "--follow", *options, "--config-dir", str(cfg)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        self.reader = threading.Thread(target=lambda: [self.lines.put(x) for x in stdout])
        self.reader.start()

    def next_pass(self, timeout: float = 30) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no pass reported within {timeout}s")
        data: dict[str, Any] = json.loads(line)
        return data

    def passes_until(self, events: int) -> dict[str, int]:
        """The learner's counts summed over the passes that read the next `events` events
        (the writer may have appended them in more than one batch)."""
        total: dict[str, int] = {}
        while total.get("events", 0) < events:
            for key, value in self.next_pass()["learn"].items():
                if isinstance(value, int):
                    total[key] = total.get(key, 0) + value
        assert total["events"] == events
        return total

    def stop(self, sig: int) -> tuple[int, str]:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        self.reader.join(10)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def follower(cfg: Path) -> Iterator[Follower]:
    follower = Follower(cfg)
    yield follower
    follower.kill()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_follow_learns_from_new_events_and_stops_cleanly(
    cfg: Path, follower: Follower, sig: int
) -> None:
    first = follower.next_pass()  # the first pass is always reported
    assert first["learn"]["events"] == 0
    events = EventLog(cfg / "logs")
    events.write(
        ran("A", "cd /srv/app", t=0),
        ran("B", "git pull --ff-only", t=5),
        SessionEnded(time=at(6), session_id="S1"),
    )
    news = follower.passes_until(3)
    assert (news["executions"], news["learned"], news["no_context"]) == (2, 1, 1)

    events.write(ran("C", "make test", t=7, session="S2"), SessionEnded(session_id="S2"))
    more = follower.passes_until(2)
    assert (more["executions"], more["no_context"]) == (1, 1)
    with pytest.raises(queue.Empty):  # several passes that read nothing printed nothing
        follower.lines.get(timeout=0.5)

    code, stderr = follower.stop(sig)
    assert code == 0, stderr
    assert "Traceback" not in stderr


# -- cairn stats --------------------------------------------------------------------------


def _suggestions(cfg: Path) -> None:
    EventLog(cfg / "logs").write(
        suggestion("T1", ("A1", "kubectl get pods -n web"), ("A2", "kubectl top pods"), t=0),
        suggestion("T2", ("B1", "df -h /var"), model="model-b", t=1),
        accepted("T1", "A1", t=2),
        accepted("T1", "A2", t=2),
        accepted("T2", "B1", t=3),
        ran("A1", "kubectl get pods -n web", t=4),
        ran("A2", "kubectl top pods -n web --sort-by=memory", t=5),  # 3 tokens added
        ran("B1", "df -h /var/lib", t=6, exit_code=1),  # 1 token changed
    )


def test_stats_json_gives_each_models_acceptance_metrics(cfg: Path) -> None:
    _suggestions(cfg)
    result = cairn(cfg, "stats", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["model"]: row for row in json.loads(result.stdout)}
    assert list(rows) == ["model-a", "model-b"]
    a, b = rows["model-a"], rows["model-b"]
    assert (a["shown"], a["accepted"], a["executed_as_suggested"], a["edited"]) == (2, 2, 1, 1)
    assert (a["mean_edit_distance"], a["acceptance_rate"], a["failed"]) == (3.0, 1.0, 0)
    assert (b["shown"], b["edited"], b["mean_edit_distance"], b["failed"]) == (1, 1, 1.0, 1)
    assert b["not_executed"] == 0

    # Incremental: a new suggestion only adds to the totals.
    EventLog(cfg / "logs").write(suggestion("T3", ("B2", "free -m"), model="model-b", t=9))
    again = {row["model"]: row for row in json.loads(cairn(cfg, "stats", "--json").stdout)}
    assert (again["model-b"]["shown"], again["model-b"]["not_executed"]) == (2, 1)
    assert again["model-a"] == a


def test_stats_table_lists_each_model(cfg: Path) -> None:
    _suggestions(cfg)
    result = cairn(cfg, "stats")
    assert result.returncode == 0, result.stderr
    header, *rows = [line.split() for line in result.stdout.splitlines() if line.strip()]
    assert header[:3] == ["Model", "Shown", "Accepted"]
    assert rows == [
        ["model-a", "2", "2", "1", "1", "0", "0", "3.0", "tokens"],
        ["model-b", "1", "1", "0", "1", "0", "1", "1.0", "tokens"],
    ]


def test_stats_without_suggestions_says_so(cfg: Path) -> None:
    EventLog(cfg / "logs").write(ran("A", "ls", t=0))
    table = cairn(cfg, "stats")
    assert table.returncode == 0 and table.stdout == ""
    assert "no suggestions analyzed yet" in table.stderr
    as_json = cairn(cfg, "stats", "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []
