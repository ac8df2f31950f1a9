"""`cairn bot …` end to end, as a user runs it: the real CLI in a subprocess against the
fake GitHub on 127.0.0.1, a SQLite store and the hashed-words embedder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.bot import action_marker
from cairn.bot.github import DEMO_PROJECT, FakeGitHub, demo_project


@pytest.fixture
def demo() -> Iterator[FakeGitHub]:
    with FakeGitHub({DEMO_PROJECT: demo_project(40)}) as fake:
        yield fake


def cairn(
    tmp_path: Path, *args: str, token: str = "", record: str = "0"
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITHUB_TOKEN": token, "HOME": str(tmp_path), "CAIRN_RECORD": record}
    cmd = [sys.executable, "-m", "cairn", *args, "--config-dir", str(tmp_path / "cfg")]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_sync_run_and_the_action_log(demo: FakeGitHub, tmp_path: Path) -> None:
    store = str(tmp_path / "bot.db")
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "cairn.toml").write_text(
        f'[bot]\nprojects = ["{DEMO_PROJECT}"]\napi = "{demo.url}"\n'
        "[bot.related]\nwindow_days = 36500\n"
    )
    first = cairn(tmp_path, "bot", "sync", "--store", store)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"{DEMO_PROJECT}: ") and "0 answered 304" in first.stdout
    idle = cairn(tmp_path, "bot", "sync", "--store", store)
    assert "0 records changed; 3 requests (3 answered 304 Not Modified), 0 bytes" in idle.stdout

    refused = cairn(tmp_path, "bot", "run", "--store", store, "--embedder", "hash")
    assert refused.returncode == 2 and "cairn bot calibrate" in refused.stderr
    assert refused.stderr.count("\n") == 1  # one line, no traceback

    calibrated = cairn(
        tmp_path, "bot", "calibrate", "--save", "--store", store, "--embedder", "hash"
    )
    assert calibrated.returncode == 0, calibrated.stderr
    assert "known duplicate pairs" in calibrated.stdout and "saved for hash" in calibrated.stdout

    dry = cairn(tmp_path, "bot", "run", "--dry-run", "--store", store, "--embedder", "hash")
    assert dry.returncode == 0, dry.stderr
    assert "would post_comment" in dry.stdout and "**Related Issues**" in dry.stdout
    assert not any(
        action_marker("") in c["body"] for c in demo.projects[DEMO_PROJECT].comments.values()
    )
    # and nothing changed here either: no action was logged
    assert cairn(tmp_path, "bot", "actions", "list", "--store", store).stdout == ""

    ran = cairn(tmp_path, "bot", "run", "--store", store, "--embedder", "hash")
    assert ran.returncode == 0, ran.stderr
    listed = cairn(tmp_path, "bot", "actions", "list", "--json", "--store", store)
    actions = [json.loads(line) for line in listed.stdout.splitlines()]
    assert actions and all(a["state"] == "done" for a in actions)
    posted = [
        c for c in demo.projects[DEMO_PROJECT].comments.values() if "cairn-action:" in c["body"]
    ]
    assert len(posted) == len(actions)

    found = cairn(
        tmp_path,
        "bot",
        "search",
        "cell waits for stdin",
        "--json",
        "--store",
        store,
        "--embedder",
        "hash",
    )
    assert json.loads(found.stdout.splitlines()[0])["title"].startswith(
        ("`cairn run` hangs", "Bug: `cairn run`")
    )


def test_approval_flow_on_the_command_line(demo: FakeGitHub, tmp_path: Path) -> None:
    store = str(tmp_path / "bot.db")
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "cairn.toml").write_text(
        f'[bot]\nprojects = ["{DEMO_PROJECT}"]\napi = "{demo.url}"\napprove = ["related"]\n'
        "[bot.related]\nwindow_days = 36500\nthreshold = 0.3\n"
    )
    assert cairn(tmp_path, "bot", "run", "--store", store, "--embedder", "hash").returncode == 0
    pending = cairn(tmp_path, "bot", "actions", "list", "--state", "pending", "--store", store)
    ids = [line.split()[0] for line in pending.stdout.splitlines()]
    assert ids
    approved = cairn(
        tmp_path, "bot", "actions", "approve", ids[0][:20], "--as", "alice", "--store", store
    )
    assert approved.returncode == 0 and "approved by alice" in approved.stdout
    denied = cairn(tmp_path, "bot", "actions", "deny", ids[1][:20], "--store", store)
    assert (
        denied.returncode == 0 and "denied by" in denied.stdout and "unknown" not in denied.stdout
    )
    run = cairn(tmp_path, "bot", "actions", "run", "--api", demo.url, "--store", store)
    assert run.returncode == 0 and run.stdout.count(" done ") == 1
    shown = json.loads(
        cairn(tmp_path, "bot", "actions", "show", ids[0][:20], "--store", store).stdout
    )
    assert shown["decisions"][0]["who"] == "alice" and shown["result"]["url"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bot", "sync", "not-a-project"], "is not a project"),
        (["bot", "sync", "nobody/nothing"], "not found (404)"),
        (["bot", "actions", "show", "zzz"], "no action"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    demo: FakeGitHub, tmp_path: Path, args: list[str], message: str
) -> None:
    result = (
        cairn(tmp_path, *args, "--api", demo.url, "--store", str(tmp_path / "b.db"))
        if args[1] == "sync"
        else cairn(tmp_path, *args, "--store", str(tmp_path / "b.db"))
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_bad_token_is_one_line(tmp_path: Path) -> None:
    with FakeGitHub({DEMO_PROJECT: demo_project(3)}, token="right") as fake:
        result = cairn(
            tmp_path,
            "bot",
            "sync",
            DEMO_PROJECT,
            "--api",
            fake.url,
            "--store",
            str(tmp_path / "b.db"),
            token="wrong-token-123",
        )
    assert (
        result.returncode == 2 and "401" in result.stderr and "wrong-token-123" not in result.stderr
    )


def test_github_calls_are_recorded_like_model_calls_without_the_token(tmp_path: Path) -> None:
    token = "ghp_" + "Zx9Yw8Vu7Ts6Rq5Po4Nm" * 2
    with FakeGitHub({DEMO_PROJECT: demo_project(5)}, token=token) as fake:
        args = ("bot", "sync", DEMO_PROJECT, "--api", fake.url, "--store", str(tmp_path / "b.db"))
        synced = cairn(tmp_path, *args, token=token, record="1")
    assert synced.returncode == 0, synced.stderr
    runs = cairn(tmp_path, "debug", "runs", "--json", record="1")
    assert runs.returncode == 0, runs.stderr
    recorded = [json.loads(line) for line in runs.stdout.splitlines()]
    assert recorded and all(r["kind"] == "bot_job" for r in recorded)
    shown = cairn(tmp_path, "debug", "show", recorded[0]["id"], "--json", record="1")
    assert shown.returncode == 0, shown.stderr
    assert '"provider":"github"' in shown.stdout.replace(" ", "") and "/repos/" in shown.stdout
    for path in (tmp_path / "cfg").rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_the_related_job_alone_with_a_dry_run(demo: FakeGitHub, tmp_path: Path) -> None:
    store = str(tmp_path / "bot.db")
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "cairn.toml").write_text("[bot.related]\nthreshold = 0.3\n")
    assert (
        cairn(tmp_path, "bot", "sync", DEMO_PROJECT, "--api", demo.url, "--store", store).returncode
        == 0
    )
    dry = cairn(tmp_path, "bot", "related", "--dry-run", "--store", store, "--embedder", "hash")
    assert dry.returncode == 0, dry.stderr
    assert "related-issue comments planned" in dry.stdout and "would post on" in dry.stdout
    assert not any(
        "cairn-action" in c["body"] for c in demo.projects[DEMO_PROJECT].comments.values()
    )
    assert cairn(tmp_path, "bot", "actions", "list", "--store", store).stdout == ""
