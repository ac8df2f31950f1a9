"""A pass: every project synced, then every job in order, each seeing the store the step
before it left; a failing step stops the pass and keeps what the steps before it did."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.bot import ISSUES, Pipeline, Posted, SyncReport, mirror, mirror_key
from cairn.store import KV, SQLiteKV


class ListTracker:
    """A tracker over a dict of issues: `sync` copies them into the mirror."""

    name = "list"

    def __init__(self, issues: dict[str, list[int]]) -> None:
        self.issues = issues

    def sync(self, kv: KV, project: str) -> SyncReport:
        items = [
            (mirror_key(project, n, ISSUES, n), b'{"number": %d}' % n) for n in self.issues[project]
        ]
        mirror(kv).set_many(items)
        return SyncReport(project, requests=1, not_modified=0, records=len(items), body_bytes=0)

    def comments(self, project: str, number: int) -> Iterator[Posted]:
        return iter(())

    def comment(self, project: str, comment_id: int) -> Posted | None:
        return None

    def post_comment(self, project: str, number: int, body: str) -> Posted:
        raise NotImplementedError

    def edit_comment(self, project: str, comment_id: int, body: str) -> Posted:
        raise NotImplementedError

    def add_labels(self, project: str, number: int, labels: list[str]) -> list[str]:
        raise NotImplementedError


class Count:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.seen: list[int] = []

    def __call__(self, kv: KV) -> int:
        if self.fail:
            raise RuntimeError(f"{self.name} failed")
        n = sum(1 for _ in mirror(kv).scan())
        self.seen.append(n)
        return n


def test_a_pass_syncs_then_runs_the_jobs_in_order(tmp_path: Path) -> None:
    kv = SQLiteKV(tmp_path / "bot.db")
    steps: list[str] = []
    first, second = Count("docs"), Count("related")
    pipeline = Pipeline(
        kv, ListTracker({"o/a": [1, 2], "o/b": [3]}), ["o/a", "o/b"], [first, second], steps.append
    )
    report = pipeline.run_pass()
    assert steps == ["sync o/a", "sync o/b", "docs", "related"]
    assert [s.project for s in report.syncs] == ["o/a", "o/b"]
    assert report.jobs == {"docs": 3, "related": 3} and first.seen == second.seen == [3]
    report = pipeline.run_pass(["o/b"])  # a webhook's pass: one project
    assert [s.project for s in report.syncs] == ["o/b"]


def test_a_failing_job_stops_the_pass_and_the_sync_is_kept(tmp_path: Path) -> None:
    kv = SQLiteKV(tmp_path / "bot.db")
    after = Count("after")
    pipeline = Pipeline(kv, ListTracker({"o/a": [1]}), ["o/a"], [Count("bad", fail=True), after])
    with pytest.raises(RuntimeError, match="bad failed"):
        pipeline.run_pass()
    assert after.seen == [] and sum(1 for _ in mirror(kv).scan()) == 1
