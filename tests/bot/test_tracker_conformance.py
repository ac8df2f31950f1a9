"""The `Tracker` contract, run against every tracker Cairn has: GitHub against the fake
seeded by hand, and against the fake seeded from recorded traffic (httprr). A GitLab or
Gitea tracker passes the same tests by adding a parameter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cairn.bot import COMMENTS, ISSUES, Tracker, TrackerAuthError, mirror, parse_mirror_key
from cairn.bot.github import FakeGitHub, GitHub, GitHubClient, projects_from_traces
from cairn.store import SQLiteKV

from ._traces import trace

P_HAND, P_TRACE = "o/r", "o/gabytest"


def _by_hand() -> tuple[FakeGitHub, str]:
    fake = FakeGitHub()
    fake.add_issue(P_HAND, 1, title="first", body="one")
    fake.add_comment(P_HAND, 1, body="a comment")
    return fake, P_HAND


def _from_trace(tmp_path: Path) -> tuple[FakeGitHub, str]:
    return FakeGitHub(projects_from_traces([trace(tmp_path)])), P_TRACE


@pytest.fixture(params=["github-fake", "github-recorded"])
def tracker(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Tracker, FakeGitHub, str]]:
    make: Callable[[], tuple[FakeGitHub, str]] = (
        _by_hand if request.param == "github-fake" else lambda: _from_trace(tmp_path)
    )
    fake, project = make()
    with fake:
        yield GitHub(GitHubClient(fake.url, sleep=lambda s: None)), fake, project


def test_it_is_a_tracker(tracker: tuple[Tracker, FakeGitHub, str]) -> None:
    assert isinstance(tracker[0], Tracker)


def test_sync_mirrors_the_issue_and_its_comment(
    tracker: tuple[Tracker, FakeGitHub, str], tmp_path: Path
) -> None:
    t, _, project = tracker
    kv = SQLiteKV(tmp_path / "c.db")
    report = t.sync(kv, project)
    apis = sorted({parse_mirror_key(e.key)[2] for e in mirror(kv).scan()})
    assert ISSUES in apis and COMMENTS in apis and report.project == project
    assert t.sync(kv, project).records == 0  # nothing changed: nothing new


def test_post_read_edit_a_comment(tracker: tuple[Tracker, FakeGitHub, str]) -> None:
    t, _, project = tracker
    posted = t.post_comment(project, 1, "hello <!-- marker -->")
    assert any(c.id == posted.id and "marker" in c.body for c in t.comments(project, 1))
    assert t.edit_comment(project, posted.id, "edited").body == "edited"
    now = t.comment(project, posted.id)
    assert now is not None and now.body == "edited"


def test_a_missing_comment_is_none_and_a_missing_project_an_auth_error(
    tracker: tuple[Tracker, FakeGitHub, str], tmp_path: Path
) -> None:
    t, _, project = tracker
    assert t.comment(project, 999_999_999) is None
    with pytest.raises(TrackerAuthError):
        t.sync(SQLiteKV(tmp_path / "x.db"), "nobody/nothing")


def test_adding_labels_is_idempotent(tracker: tuple[Tracker, FakeGitHub, str]) -> None:
    t, _, project = tracker
    assert "triage" in t.add_labels(project, 1, ["triage"])
    assert t.add_labels(project, 1, ["triage"]).count("triage") == 1
