"""A synthetic demo project for `cairn bot fake-github` and the benchmarks: issues about
a runbook tool, their comments, and known duplicates (an issue closed with "Duplicate
of #N"), deterministic for a given size."""

from __future__ import annotations

import random
import time

from ._fake import FakeGitHub, Project

PROJECT = "cairn-demo/runbooks"

_TOPICS = [
    (
        "`cairn run` hangs when a cell reads stdin",
        "The cell waits for input forever; Ctrl-C does not stop it.",
    ),
    ("PTY output loses colours", "Cells run interactively print without ANSI colours."),
    (
        "Suggestions ignore the last cell's output",
        "The next-cell suggestion does not use what the previous cell printed.",
    ),
    (
        "Runbook with a front matter block fails to parse",
        "A YAML front matter at the top gives a parse error.",
    ),
    ("Secrets appear in the learning log", "An exported API token shows up in logs/events.jsonl."),
    (
        "`cairn serve` refuses connections from localhost",
        "The browser gets 403 when opening http://localhost:8787.",
    ),
    ("Timeout attribute is not honoured", "A cell with timeout=5 runs for a minute."),
    ("Index search returns unrelated docs", "Searching 'disk full' returns the TLS runbook first."),
    (
        "PostgreSQL store loses the lock after a restart",
        "After the database restarts, the learner stops with a lock error.",
    ),
    (
        "Exported notebook drops cell outputs",
        "`cairn notebook to-ipynb` writes cells without their outputs.",
    ),
]
_REPHRASE = [
    ("{t}", "{b}"),
    ("Bug: {t}", "Seen again today. {b}"),
    ("{t} (regression)", "This worked last week. {b}"),
]


def demo_project(
    issues: int = 40, *, comments_each: int = 2, seed: int = 7, start: float | None = None
) -> Project:
    """`issues` issues over ten topics, an hour apart, the last one an hour ago (or from
    `start`); every fourth issue after the first ten restates an earlier one and is
    closed as its duplicate."""
    rng = random.Random(seed)
    builder = FakeGitHub()
    t = start if start is not None else time.time() - 3600 * (issues + 1)
    first_of: dict[int, int] = {}
    for n in range(1, issues + 1):
        t += 3600
        topic = (n - 1) % len(_TOPICS)
        title, body = _TOPICS[topic]
        is_dup = n > len(_TOPICS) and n % 4 == 0 and topic in first_of
        pattern = _REPHRASE[rng.randrange(len(_REPHRASE))] if n > len(_TOPICS) else _REPHRASE[0]
        builder.add_issue(
            PROJECT,
            n,
            title=pattern[0].format(t=title),
            body=pattern[1].format(b=body),
            user=rng.choice(["ana", "bo", "chen", "dee"]),
            state="closed" if is_dup else "open",
            created_at=t,
        )
        first_of.setdefault(topic, n)
        for c in range(comments_each):
            builder.add_comment(
                PROJECT, n, body=f"I can reproduce this ({c + 1}).", created_at=t + 60 * (c + 1)
            )
        if is_dup:
            builder.add_comment(
                PROJECT, n, body=f"Duplicate of #{first_of[topic]}", created_at=t + 600
            )
            builder.add_event(PROJECT, n, "closed")
    return builder.projects[PROJECT]
