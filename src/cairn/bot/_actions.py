"""The action log: every effect the bot has on a tracker (post a comment, edit one) is
first recorded as an action, approved by a person when its job needs approval, then run
— exactly once.

An action (post a comment, edit one, add labels: `body` is then the comma-separated
labels) holds its kind, its key (logged once per key: a job that plans the same
action again changes nothing), the exact request it will make, a human-readable diff,
when it was created, whether it needs approval, the decisions taken on it (who, when,
approve or deny), and once run: when, the result (the comment's id and URL) or the
error.

**Exactly once.** Gaby runs actions at least once: a crash after GitHub accepted a post
but before the result was written posts it again. Here everything the bot writes carries
a hidden marker, `<!-- cairn-action: ID -->`, and an action is marked *started* in the
store before its request goes out. An action found started but not done (its runner
died) is first looked for on the tracker — the issue's comments for a post, the comment
for an edit — and recorded as done if its marker is there, instead of being run again.

**Stale edits.** An edit carries the text it was planned on (`expect`); the comment is
fetched again right before the edit, and the action is skipped (`stale`) if the comment
changed since. A target that was deleted fails the action with a clear error; it is not
retried forever (`rerun` tries again when a person asks).

Crash points, for tests and `bench/bot.py --only crash` only: when `CAIRN_BOT_CRASH_AT` names
one of `CRASH_POINTS`, the runner kills its own process (SIGKILL) at that point.

Layout (keys encoded with `ordered`):
  ("timed", "bot.action", id)   → JSON action (a timed collection: other jobs can watch it)
  ("bot.action.key", key)       → id
"""

from __future__ import annotations

import difflib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

from ..notebook import new_ulid
from ..store import KV, ordered
from ..store.timed import Collection
from ._errors import BotError, TrackerAuthError, TrackerError
from ._tracker import Posted, Tracker

KIND = "bot.action"
_BY_KEY = "bot.action.key"
_LOCK = "bot.actions"
CRASH_POINTS = ("before-start", "after-start", "after-request", "after-done")
Kind = Literal["post_comment", "edit_comment", "add_labels"]
State = Literal["pending", "approved", "denied", "done", "failed", "stale"]


class ActionError(BotError):
    """An action that does not exist, or a decision that cannot be taken on it."""


def marker(action_id: str) -> str:
    """The hidden marker that makes an action's effect findable on the tracker."""
    return f"<!-- cairn-action: {action_id} -->"


def marked(body: str, action_id: str) -> str:
    return f"{body.rstrip()}\n\n{marker(action_id)}\n"


def unified_diff(old: str, new: str, name: str) -> str:
    """What an edit changes, for people (`cairn bot actions show`)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"{name} (now)", name
    )
    return "".join(lines)


@dataclass
class Decision:
    who: str
    when: float
    approve: bool


@dataclass
class Action:
    id: str
    kind: Kind
    key: str
    project: str
    number: int
    body: str
    diff: str = ""
    comment_id: int | None = None
    expect: str | None = None  # an edit: the comment's text it was planned on
    created: float = 0.0
    approval_required: bool = False
    decisions: list[Decision] = field(default_factory=list)
    started: float | None = None
    done: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def state(self) -> State:
        if self.done is not None:
            return "stale" if (self.result or {}).get("stale") else "done"
        if self.error is not None:
            return "failed"
        if self.decisions and not self.decisions[-1].approve:
            return "denied"
        if self.approval_required and not (self.decisions and self.decisions[-1].approve):
            return "pending"
        return "approved"

    @property
    def runnable(self) -> bool:
        return self.state == "approved"

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Action:
        data = orjson.loads(raw)
        data["decisions"] = [Decision(**d) for d in data.get("decisions", [])]
        return cls(**data)


def _crash(point: str) -> None:
    if os.environ.get("CAIRN_BOT_CRASH_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


class ActionLog:
    """The actions in `kv` (see the module docstring)."""

    def __init__(self, kv: KV) -> None:
        self.kv = kv
        self.collection = Collection(kv, KIND)

    # -- reading ---------------------------------------------------------------------------

    def get(self, action_id: str) -> Action:
        entry = self.collection.get(ordered.encode(action_id))
        if entry is None:
            raise ActionError(f"no action {action_id!r}: `cairn bot actions list` shows them")
        return Action.from_json(entry.value)

    def find(self, key: str) -> Action | None:
        raw = self.kv.get(ordered.encode(_BY_KEY, key))
        return None if raw is None else self.get(raw.decode())

    def resolve(self, prefix: str) -> Action:
        """The action whose id starts with `prefix` (ids are long; people type a few)."""
        matches = [a for a in self if a.id.startswith(prefix)]
        if len(matches) != 1:
            what = "no action" if not matches else f"{len(matches)} actions"
            raise ActionError(f"{what} with an id starting {prefix!r}")
        return matches[0]

    def __iter__(self) -> Iterator[Action]:
        """Every action, oldest first (ids sort by creation)."""
        return (Action.from_json(e.value) for e in self.collection.scan())

    # -- writing ---------------------------------------------------------------------------

    def _put(self, action: Action) -> None:
        self.collection.set(ordered.encode(action.id), action.to_json())

    def add(
        self,
        kind: Kind,
        key: str,
        *,
        project: str,
        number: int,
        body: str,
        comment_id: int | None = None,
        expect: str | None = None,
        diff: str = "",
        approval_required: bool = False,
    ) -> Action:
        """Log an action once per `key`: the existing one when the key was logged."""
        self.kv.lock(_LOCK + ".add")
        try:
            existing = self.find(key)
            if existing is not None:
                return existing
            action = Action(
                id=new_ulid(),
                kind=kind,
                key=key,
                project=project,
                number=number,
                body=body,
                diff=diff,
                comment_id=comment_id,
                expect=expect,
                created=time.time(),
                approval_required=approval_required,
            )
            batch = self.kv.batch()
            batch.set(ordered.encode(_BY_KEY, key), action.id.encode())
            self.collection.set_many([(ordered.encode(action.id), action.to_json())], batch=batch)
            return action
        finally:
            self.kv.unlock(_LOCK + ".add")

    def decide(self, action_id: str, who: str, *, approve: bool) -> Action:
        """Record a person's approval or denial (not on an action that already ran)."""
        if not who or who == "unknown":
            raise ActionError("a decision needs the decider's name")
        action = self.get(action_id)
        if action.state in ("done", "stale"):
            raise ActionError(f"action {action.id} already ran; nothing to decide")
        action.decisions.append(Decision(who, time.time(), approve))
        self._put(action)
        return action

    def rerun(self, action_id: str) -> Action:
        """Clear a failed action's error so the next `run` tries it again."""
        action = self.get(action_id)
        if action.state != "failed":
            raise ActionError(f"action {action.id} is {action.state}, not failed")
        action.error, action.started = None, None
        self._put(action)
        return action

    # -- running ---------------------------------------------------------------------------

    def runnable(self) -> list[Action]:
        """The actions the next `run` would run, oldest first."""
        return [a for a in self if a.runnable]

    def run(self, tracker: Tracker, *, dry_run: bool = False) -> list[Action]:
        """Run every runnable action, oldest first, one runner at a time; returns them as
        they ended. With `dry_run`, returns what would run and changes nothing."""
        if dry_run:
            return self.runnable()
        ran = []
        self.kv.lock(_LOCK)
        try:
            for action in [a for a in self if a.runnable]:
                ran.append(self._run_one(tracker, action))
        finally:
            self.kv.unlock(_LOCK)
        return ran

    def _run_one(self, tracker: Tracker, action: Action) -> Action:
        if action.started is not None:
            found = _find_marker(tracker, action)
            if found is not None:  # it ran before its runner died: record, don't repeat
                return self._finish(action, {"id": found.id, "url": found.url, "recovered": True})
        _crash("before-start")
        action.started = time.time()
        self._put(action)
        _crash("after-start")
        try:
            result = self._perform(tracker, action)
        except (TrackerAuthError, TrackerError) as exc:
            action.error = str(exc)
            self._put(action)
            return action
        _crash("after-request")
        action = self._finish(action, result)
        _crash("after-done")
        return action

    def _finish(self, action: Action, result: dict[str, Any]) -> Action:
        action.done, action.result, action.error = time.time(), result, None
        self._put(action)
        return action

    def _perform(self, tracker: Tracker, action: Action) -> dict[str, Any]:
        if action.kind == "add_labels":  # idempotent on the tracker: no marker needed
            labels = [x.strip() for x in action.body.split(",") if x.strip()]
            return {"labels": tracker.add_labels(action.project, action.number, labels)}
        body = marked(action.body, action.id)
        if action.kind == "post_comment":
            posted = tracker.post_comment(action.project, action.number, body)
            return {"id": posted.id, "url": posted.url}
        assert action.comment_id is not None
        now = tracker.comment(action.project, action.comment_id)
        if now is None:
            raise TrackerError(
                f"comment {action.comment_id} of {action.project}#{action.number} was deleted;"
                " nothing to edit"
            )
        if action.expect is not None and now.body != action.expect:
            return {"id": now.id, "url": now.url, "stale": True}
        posted = tracker.edit_comment(action.project, action.comment_id, body)
        return {"id": posted.id, "url": posted.url}


def _find_marker(tracker: Tracker, action: Action) -> Posted | None:
    """The tracker's copy of what `action` wrote, if it got there (labels: None, since
    adding them again changes nothing)."""
    if action.kind == "add_labels":
        return None
    mark = marker(action.id)
    if action.kind == "post_comment":
        return next(
            (c for c in tracker.comments(action.project, action.number) if mark in c.body), None
        )
    assert action.comment_id is not None
    now = tracker.comment(action.project, action.comment_id)
    return now if now is not None and mark in now.body else None
