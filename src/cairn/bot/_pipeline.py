"""One pass of the bot: sync every project's mirror, then run every job in order, each an
incremental consumer of what the step before it wrote —

    tracker ──sync──▶ mirror ──▶ issue docs ──▶ embeddings ──▶ related / commentfix
                                                               ──▶ action log ──▶ tracker

A pass is what `cairn bot run` repeats every few minutes, what a webhook delivery
triggers in `cairn serve --bot`, and what each `cairn bot <job>` command runs one step
of. Every step resumes where the last pass stopped (watchers with durable cursors), so
a pass over an idle tracker costs one conditional request per listing and nothing else.
A step that fails stops the pass with its error; the steps before it keep what they did.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..store import KV
from ._tracker import SyncReport, Tracker

if TYPE_CHECKING:
    from ..index import Embedder, VectorIndex
    from ._config import BotSettings

log = logging.getLogger("cairn.bot")


class Job(Protocol):
    """A step after the sync: reads what changed since its cursor, writes its results."""

    name: str

    def __call__(self, kv: KV) -> int:
        """Run once; returns how many items it handled (for the pass's report)."""
        ...


@dataclass
class PassReport:
    """What one pass did: each project's sync, each job's count, and how long it took."""

    syncs: list[SyncReport] = field(default_factory=list)
    jobs: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Pipeline:
    """The bot's steps over one store: the tracker's sync, then `jobs` in order."""

    kv: KV
    tracker: Tracker
    projects: Sequence[str]
    jobs: Sequence[Job] = ()
    on_step: Callable[[str], None] | None = None  # progress: the step about to run

    def run_pass(self, projects: Sequence[str] | None = None) -> PassReport:
        """Sync `projects` (default: all configured), then run every job once."""
        start = time.monotonic()
        report = PassReport()
        for project in projects if projects is not None else self.projects:
            self._say(f"sync {project}")
            report.syncs.append(self.tracker.sync(self.kv, project))
        for job in self.jobs:
            self._say(job.name)
            report.jobs[job.name] = job(self.kv)
        report.seconds = time.monotonic() - start
        log.info(
            "bot pass: %s; %s in %.1f s",
            ", ".join(
                f"{s.project} {s.records} records/{s.requests} requests" for s in report.syncs
            )
            or "no sync",
            ", ".join(f"{name} {n}" for name, n in report.jobs.items()) or "no jobs",
            report.seconds,
        )
        return report

    def _say(self, step: str) -> None:
        if self.on_step is not None:
            self.on_step(step)


@dataclass
class Step:
    """A job made of a name and a function of the store."""

    name: str
    run: Callable[[KV], int]

    def __call__(self, kv: KV) -> int:
        return int(self.run(kv))


def bot_pipeline(
    kv: KV,
    tracker: Tracker,
    embedder: Embedder,
    index: VectorIndex,
    settings: BotSettings,
    projects: Sequence[str] | None = None,
    *,
    act: bool = True,
) -> Pipeline:
    """The bot's whole pass, as `cairn bot run` and `cairn serve --bot` run it: sync,
    issue docs, embeddings, related issues, comment fixes, then (with `act`) the actions
    that need no approval or were approved."""
    from ..index import embed_docs
    from ._actions import ActionLog
    from ._commentfix import commentfix_job, load_rules
    from ._related import issue_docs, related_issues

    rules = load_rules(settings.commentfix)
    jobs: list[Job] = [
        Step("issue docs", issue_docs),
        Step("embeddings", lambda kv: embed_docs(kv, embedder, index).embedded),
        Step(
            "related issues",
            lambda kv: related_issues(
                kv,
                embedder,
                index,
                settings.related,
                approval_required="related" in settings.approve,
            ),
        ),
        Step(
            "comment fixes",
            lambda kv: commentfix_job(
                kv, rules, approval_required="commentfix" in settings.approve
            ),
        ),
    ]
    if act:
        jobs.append(Step("actions", lambda kv: len(ActionLog(kv).run(tracker))))
    names = list(projects) if projects is not None else list(settings.projects)
    return Pipeline(kv, tracker, names, jobs)
