"""The `rsc.io/github/issue` text format: the shipped demo loads, into the mirror and the
fake GitHub alike, and malformed text is one error naming its line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cairn.bot import duplicate_pairs, mirror
from cairn.bot.github import (
    FakeGitHub,
    GitHub,
    GitHubClient,
    TxtFormatError,
    load_txt,
    mirror_projects,
)
from cairn.store import SQLiteKV

DEMO = Path(__file__).resolve().parents[2] / "examples" / "bot" / "demo.txt"


def test_the_demo_loads_with_its_history() -> None:
    ((name, project),) = load_txt(DEMO.read_text()).items()
    assert name == "cairn-demo/runbooks" and sorted(project.issues) == [1, 2, 3, 4]
    one = project.issues[1]
    assert (
        one["title"] == "cairn run hangs when a cell reads stdin" and one["user"]["login"] == "ana"
    )
    assert (
        one["body"].startswith("A cell that runs `read -p")
        and one["created_at"] == "2026-11-02T09:14:00Z"
    )
    assert [label["name"] for label in one["labels"]] == ["bug"]
    assert project.issues[3]["state"] == "closed"
    bodies = [c["body"] for c in project.comments.values()]
    assert "Duplicate of #1" in bodies
    assert sorted(e["event"] for e in project.events.values()) == ["closed", "labeled"]


def test_loaded_or_synced_from_the_fake_the_mirror_is_the_same(tmp_path: Path) -> None:
    projects = load_txt(DEMO.read_text())
    loaded = SQLiteKV(tmp_path / "loaded.db")
    assert mirror_projects(loaded, projects) == 4 + 2 + 2
    assert mirror_projects(loaded, projects) == 0
    assert duplicate_pairs(loaded) == [("cairn-demo/runbooks", 3, 1)]
    synced = SQLiteKV(tmp_path / "synced.db")
    with FakeGitHub(load_txt(DEMO.read_text())) as fake:
        GitHub(GitHubClient(fake.url)).sync(synced, "cairn-demo/runbooks")
    keys = lambda kv: sorted(e.key for e in mirror(kv).scan())  # noqa: E731
    assert keys(loaded) == keys(synced)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello\n", "line 1: expected a section header"),
        ("-- norepo#1 --\nTitle: x\n\nReported by a (2026-01-01 00:00:00)\n", "invalid issue name"),
        ("-- o/r#1 --\nTitle: x\n\nReported by a (yesterday)\n", "line 4: expected an event"),
        ("-- o/r#1 --\nTitle: x\n\nReported by a (2026-13-01 00:00:00)\n", "invalid time"),
        ("-- o/r#1 --\nTitle x\n", "line 2: invalid header line"),
        ("-- o/r#1 --\nTitle: x\n\nComment by a (2026-01-01 00:00:00)\n", "before 'Reported by'"),
    ],
)
def test_malformed_text_is_one_error_with_its_line(text: str, message: str) -> None:
    with pytest.raises(TxtFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_txt(text)


def test_cairn_bot_load(tmp_path: Path) -> None:
    env = {**os.environ, "CAIRN_RECORD": "0"}
    cmd = [
        sys.executable,
        "-m",
        "cairn",
        "bot",
        "load",
        str(DEMO),
        "--store",
        str(tmp_path / "b.db"),
        "--config-dir",
        str(tmp_path / "cfg"),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "4 issues of cairn-demo/runbooks; 8 records changed" in out.stdout
    bad = tmp_path / "bad.txt"
    bad.write_text("nonsense\n")
    cmd[5] = str(bad)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2 and "line 1" in out.stderr and "Traceback" not in out.stderr
