"""The action log against the fake GitHub: once per key, approval and denial with who and
when, dry runs that change nothing, stale and deleted targets, and exactly-once effects
when the runner is killed at every point of an action's execution."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from cairn.bot import CRASH_POINTS, ActionError, ActionLog, action_marker
from cairn.bot.github import FakeGitHub, GitHub, GitHubClient
from cairn.store import SQLiteKV

from .conftest import PROJECT


def github(fake: FakeGitHub) -> GitHub:
    return GitHub(GitHubClient(fake.url, sleep=lambda s: None))


def test_an_action_is_logged_once_per_key(kv: SQLiteKV) -> None:
    log = ActionLog(kv)
    first = log.add("post_comment", "related:o/r#1", project="o/r", number=1, body="hi")
    again = log.add("post_comment", "related:o/r#1", project="o/r", number=1, body="other")
    assert again.id == first.id and again.body == "hi" and len(list(log)) == 1


def test_approval_is_required_recorded_and_denial_is_final(fake: FakeGitHub, kv: SQLiteKV) -> None:
    log = ActionLog(kv)
    a = log.add("post_comment", "k1", project=PROJECT, number=1, body="x", approval_required=True)
    d = log.add("post_comment", "k2", project=PROJECT, number=2, body="y", approval_required=True)
    assert [x.state for x in log] == ["pending", "pending"]
    assert log.run(github(fake)) == []  # nothing approved: nothing runs
    log.decide(a.id, "alice", approve=True)
    log.decide(d.id, "bob", approve=False)
    ran = log.run(github(fake))
    assert [x.id for x in ran] == [a.id] and ran[0].state == "done"
    assert log.get(a.id).decisions[0].who == "alice" and log.get(d.id).state == "denied"
    assert len(fake.comments_on(PROJECT, 2)) == 2  # the denied one never posted
    with pytest.raises(ActionError, match="already ran"):
        log.decide(a.id, "carol", approve=False)
    with pytest.raises(ActionError, match="decider"):
        log.decide(d.id, "unknown", approve=True)


def test_a_post_carries_its_marker_and_a_dry_run_changes_nothing(
    fake: FakeGitHub, kv: SQLiteKV
) -> None:
    log = ActionLog(kv)
    a = log.add("post_comment", "k", project=PROJECT, number=3, body="Related issues: #1")
    before = len(fake.requests)
    assert [x.id for x in log.run(github(fake), dry_run=True)] == [a.id]
    assert len(fake.requests) == before and log.get(a.id).state == "approved"
    log.run(github(fake))
    posted = [c for c in fake.comments_on(PROJECT, 3) if action_marker(a.id) in c["body"]]
    assert len(posted) == 1 and posted[0]["body"].startswith("Related issues: #1")
    assert log.get(a.id).result == {"id": posted[0]["id"], "url": posted[0]["html_url"]}
    assert log.run(github(fake)) == []  # done: never again


def test_a_stale_edit_is_skipped_and_a_deleted_target_fails_clearly(
    fake: FakeGitHub, kv: SQLiteKV
) -> None:
    log = ActionLog(kv)
    one, two = fake.comments_on(PROJECT, 4)
    stale = log.add(
        "edit_comment",
        "e1",
        project=PROJECT,
        number=4,
        comment_id=one["id"],
        body="fixed",
        expect=one["body"],
    )
    fake.edit_comment(PROJECT, one["id"], "the author changed it meanwhile")
    gone = log.add(
        "edit_comment",
        "e2",
        project=PROJECT,
        number=4,
        comment_id=two["id"],
        body="fixed",
        expect=two["body"],
    )
    del fake.projects[PROJECT].comments[two["id"]]
    log.run(github(fake))
    assert log.get(stale.id).state == "stale"
    assert fake.projects[PROJECT].comments[one["id"]]["body"] == "the author changed it meanwhile"
    failed = log.get(gone.id)
    assert failed.state == "failed" and "was deleted" in (failed.error or "")
    assert log.rerun(gone.id).state == "approved"


_RUNNER = """
import sys
from cairn.bot import ActionLog
from cairn.bot.github import GitHub, GitHubClient
from cairn.store import SQLiteKV
ActionLog(SQLiteKV(sys.argv[2])).run(GitHub(GitHubClient(sys.argv[1])))
"""


def crash_trials(
    fake: FakeGitHub, tmp_path: Path, trials: int, seed: int
) -> tuple[int, int, int, int, int]:
    """Plan actions, run them killing the runner at random crash points until all are
    done; returns (actions, duplicate posts, lost actions, kills, recovered: actions
    found on the tracker by their marker after a kill between the post and its record)."""
    rng = random.Random(seed)
    db = tmp_path / "actions.db"
    kv = SQLiteKV(db)
    log = ActionLog(kv)
    planned = [
        log.add("post_comment", f"t{i}", project=PROJECT, number=1 + i % 20, body=f"post {i}")
        for i in range(trials)
    ]
    kv.close()
    kills = 0
    for _ in range(trials * 6):
        point = rng.choice(CRASH_POINTS)
        env = {**os.environ, "CAIRN_BOT_CRASH_AT": point}
        run = [sys.executable, "-c", _RUNNER, fake.url, str(db)]
        kills += subprocess.run(run, env=env, check=False).returncode == -9
        kv = SQLiteKV(db)
        remaining = [a for a in ActionLog(kv) if a.state != "done"]
        kv.close()
        if not remaining:
            break
    kv = SQLiteKV(db)
    try:
        done = {a.id for a in ActionLog(kv) if a.state == "done"}
        recovered = sum(1 for a in ActionLog(kv) if (a.result or {}).get("recovered"))
    finally:
        kv.close()
    lost = sum(1 for a in planned if a.id not in done)
    duplicates = 0
    for a in planned:
        copies = [
            c for c in fake.comments_on(PROJECT, a.number) if action_marker(a.id) in c["body"]
        ]
        duplicates += max(0, len(copies) - 1)
        lost += 0 if copies else 1
    return len(planned), duplicates, lost, kills, recovered


def test_killed_at_every_point_no_post_is_doubled_and_none_is_lost(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    actions, duplicates, lost, kills, recovered = crash_trials(fake, tmp_path, 12, seed=7)
    assert (actions, duplicates, lost) == (12, 0, 0)
    assert kills >= 12 and recovered >= 1  # the kills landed, also after a post went out


def test_a_label_action_adds_labels_once(fake: FakeGitHub, kv: SQLiteKV) -> None:
    log = ActionLog(kv)
    a = log.add("add_labels", "label:1", project=PROJECT, number=1, body="needs-triage, bug")
    (done,) = log.run(github(fake))
    assert done.state == "done" and done.result == {"labels": ["needs-triage", "bug"]}
    assert [x["name"] for x in fake.projects[PROJECT].issues[1]["labels"]] == [
        "needs-triage",
        "bug",
    ]
    assert log.get(a.id).state == "done" and log.run(github(fake)) == []
