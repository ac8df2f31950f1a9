"""Shared fixtures of the bot's tests: a fake GitHub on 127.0.0.1 with a seeded project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.bot.github import FakeGitHub
from cairn.store import SQLiteKV

PROJECT = "cairn-demo/runbooks"


def seed(fake: FakeGitHub, issues: int = 25, comments_each: int = 2) -> None:
    """`issues` issues (every fifth closed, every seventh a pull request), each with
    `comments_each` comments, and a `closed` event per closed issue."""
    t = 1_700_000_000.0
    for n in range(1, issues + 1):
        t += 60
        closed = n % 5 == 0
        fake.add_issue(
            PROJECT,
            n,
            title=f"issue {n}: the runbook step {n} fails",
            body=f"Running step {n} prints an error.",
            state="closed" if closed else "open",
            created_at=t,
            pull_request=n % 7 == 0,
        )
        for c in range(comments_each):
            fake.add_comment(PROJECT, n, body=f"comment {c} on {n}", created_at=t + c + 1)
        if closed:
            fake.add_event(PROJECT, n, "closed")


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        seed(server)
        yield server


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[SQLiteKV]:
    store = SQLiteKV(tmp_path / "bot.db")
    yield store
    store.close()
