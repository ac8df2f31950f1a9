"""Issues as docs, related-issue comments planned as actions, and the per-model
threshold from known duplicates — on a project mirrored from the fake GitHub."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from cairn.bot import (
    ActionLog,
    CalibrationError,
    RelatedSettings,
    calibrate,
    duplicate_pairs,
    issue_docs,
    related_issues,
    save_calibration,
    threshold_for,
)
from cairn.bot.github import FakeGitHub, GitHub, GitHubClient
from cairn.index import Docs, HashEmbedder, VectorIndex, embed_docs
from cairn.store import SQLiteKV

P = "o/r"
NOW = 1_800_000_000.0

TEXTS = [
    ("disk full on the database host", "postgres stops: no space left on device /var/lib"),
    ("database host out of disk space", "no space left on device, postgres stopped"),
    ("login page shows a blank screen", "the login form renders nothing in firefox"),
    ("blank login screen in firefox", "firefox shows an empty login page"),
    ("cron job runs twice a day", "the backup cron entry fires twice"),
    ("backup cron fires twice", "cron runs the backup job two times"),
]


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    fake = FakeGitHub()
    fake.start()
    for n, (title, body) in enumerate(TEXTS, start=1):
        fake.add_issue(P, n, title=title, body=body, created_at=NOW - 3600 * (7 - n))
    fake.add_issue(
        P, 7, title="old: disk full again", body="no space left", created_at=NOW - 30 * 86400
    )
    fake.add_issue(
        P, 8, title="pr: fix disk full", body="no space", created_at=NOW, pull_request=True
    )
    fake.add_issue(
        P, 9, title="[release] disk full", body="no space left on device", created_at=NOW
    )
    # 2 duplicates 1, 4 duplicates 3: closed with "Duplicate of #N"
    for dup, of in ((2, 1), (4, 3)):
        fake.add_comment(P, dup, body=f"Duplicate of #{of}", created_at=NOW)
        fake.edit_issue(P, dup, state="closed")
    kv = SQLiteKV(tmp_path / "bot.db")
    GitHub(GitHubClient(fake.url)).sync(kv, P)
    embedder = HashEmbedder(256)
    index = VectorIndex(kv, "docs")
    yield fake, kv, embedder, index
    kv.close()
    fake.stop()


def test_issues_become_docs_and_only_changes_are_redone(world) -> None:  # type: ignore[no-untyped-def]
    fake, kv, embedder, index = world
    assert issue_docs(kv) == 9 + 2  # every issue, and the comments of 2 and 4
    doc = Docs(kv).get(f"{P}#1")
    assert doc is not None and doc.title == TEXTS[0][0]
    assert Docs(kv).get(f"{P}#2/comments").text == "Duplicate of #1"  # type: ignore[union-attr]
    assert issue_docs(kv) == 0
    fake.clock = lambda: NOW + 10
    fake.edit_issue(P, 5, body="cron runs the backup job three times")
    GitHub(GitHubClient(fake.url)).sync(kv, P)
    assert issue_docs(kv) == 1
    assert embed_docs(kv, embedder, index).embedded == 11


def test_no_threshold_for_the_model_is_refused_clearly(world) -> None:  # type: ignore[no-untyped-def]
    _, kv, embedder, index = world
    with pytest.raises(CalibrationError, match="cairn bot calibrate"):
        related_issues(kv, embedder, index, RelatedSettings(), now=lambda: NOW)


def test_related_comments_are_planned_for_new_open_issues_only(world) -> None:  # type: ignore[no-untyped-def]
    _, kv, embedder, index = world
    issue_docs(kv)
    embed_docs(kv, embedder, index)
    settings = RelatedSettings(threshold=0.2, skip_title_prefix=("[release]",))
    planned = related_issues(kv, embedder, index, settings, now=lambda: NOW)
    actions = {a.number: a for a in ActionLog(kv)}
    # 1, 3, 5, 6 are open and recent; 2 and 4 are closed, 7 old, 8 a PR, 9 skipped
    assert sorted(actions) == [1, 3, 5, 6] and planned == 4
    body = actions[1].body
    assert (
        body.startswith("**Related Issues**")
        and f"](https://github.com/{P}/issues/2) (closed)" in body
    )
    assert "out of disk space \\#2" not in body and "#1)" not in body  # never itself
    assert "\\[release\\] disk full #9" in body  # titles are escaped
    assert related_issues(kv, embedder, index, settings, now=lambda: NOW) == 0  # once


def test_calibration_reports_every_threshold_and_stores_the_chosen_one(world) -> None:  # type: ignore[no-untyped-def]
    _, kv, embedder, index = world
    issue_docs(kv)
    embed_docs(kv, embedder, index)
    assert duplicate_pairs(kv) == [(P, 2, 1), (P, 4, 3)]
    result = calibrate(kv, embedder, index)
    assert result.model == embedder.name and result.pairs == 2 and len(result.rows) == 70
    assert [r.threshold for r in result.rows][:2] == [0.3, 0.31]
    assert all(0 <= r.precision <= 1 and 0 <= r.recall <= 1 for r in result.rows)
    assert result.chosen.f1 == max(r.f1 for r in result.rows)
    save_calibration(kv, result)
    assert threshold_for(kv, embedder.name, RelatedSettings()) == result.chosen.threshold
    with pytest.raises(CalibrationError):
        threshold_for(kv, "another-model", RelatedSettings())


def test_a_marked_as_duplicate_event_is_a_known_duplicate(tmp_path: Path) -> None:
    from cairn.bot import EVENTS, ISSUES, mirror, mirror_key

    kv = SQLiteKV(tmp_path / "bot.db")
    issues = [
        (1, "open", {}),
        (2, "closed", {"event": "marked_as_duplicate", "canonical": {"number": 1}}),
        (3, "closed", {"event": "closed"}),
        (4, "open", {"event": "marked_as_duplicate", "canonical": {"number": 1}}),
    ]
    items = []
    for n, state, event in issues:
        items.append((mirror_key(P, n, ISSUES, n), orjson.dumps({"number": n, "state": state})))
        if event:
            items.append(
                (mirror_key(P, n, EVENTS, 100 + n), orjson.dumps({"id": 100 + n, **event}))
            )
    mirror(kv).set_many(items)
    # 3 was closed without a duplicate; 4 is marked but still open (not a known duplicate)
    assert duplicate_pairs(kv) == [(P, 2, 1)]
    kv.close()
