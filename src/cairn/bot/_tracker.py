"""What the bot needs of an issue tracker (`Tracker`), and the mirror's layout in the
store, shared by every tracker (GitHub today; GitLab or Gitea pass the same conformance
suite later).

The mirror is one timed collection, kind `MIRROR_KIND`, keyed with ordered keys
`(project, issue number, api, id)` where `api` is one of `ISSUES`, `COMMENTS`,
`EVENTS`; an issue's own record is `(project, number, ISSUES, number)`. The value is the
tracker's raw JSON for the record, as received (GitHub's, for GitHub), so nothing the
tracker said is lost and a later job can read fields nobody parsed at sync time.

Layout (keys encoded with `ordered`):
  ("timed", "bot.mirror", (project, number, api, id))   → raw JSON (a timed collection)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..store import KV, ordered
from ..store.timed import Collection

MIRROR_KIND = "bot.mirror"
ISSUES = "/issues"
COMMENTS = "/issues/comments"
EVENTS = "/issues/events"


def mirror_key(project: str, number: int, api: str, id_: int) -> bytes:
    """The ordered key of one mirrored record."""
    return ordered.encode(project, number, api, id_)


def parse_mirror_key(key: bytes) -> tuple[str, int, str, int]:
    project, number, api, id_ = ordered.decode(key, str, int, str, int)
    return project, number, api, id_


def mirror(kv: KV) -> Collection:
    """The mirror's timed collection in `kv`."""
    return Collection(kv, MIRROR_KIND)


@dataclass(frozen=True)
class Posted:
    """A comment the tracker holds: its id, its URL for people, its body."""

    id: int
    url: str
    body: str


@dataclass(frozen=True)
class SyncReport:
    """What one sync of one project did."""

    project: str
    requests: int
    not_modified: int
    records: int
    body_bytes: int


@runtime_checkable
class Tracker(Protocol):
    """An issue tracker the bot mirrors and acts on. Every method raises `TrackerError`
    (or `TrackerAuthError`) with one actionable line; none retries forever."""

    name: str

    def sync(self, kv: KV, project: str) -> SyncReport:
        """Bring the mirror of `project` up to date, incrementally and resumably."""
        ...

    def comments(self, project: str, number: int) -> Iterator[Posted]:
        """The comments of an issue, as the tracker holds them now."""
        ...

    def comment(self, project: str, comment_id: int) -> Posted | None:
        """One comment as it is now; None when it was deleted."""
        ...

    def post_comment(self, project: str, number: int, body: str) -> Posted:
        """Add a comment to an issue."""
        ...

    def edit_comment(self, project: str, comment_id: int, body: str) -> Posted:
        """Replace a comment's body."""
        ...

    def add_labels(self, project: str, number: int, labels: list[str]) -> list[str]:
        """Add labels to an issue (idempotent); returns the issue's labels now."""
        ...


def raw(value: bytes) -> dict[str, Any]:
    """A mirrored record's JSON."""
    import orjson

    data = orjson.loads(value)
    if not isinstance(data, dict):
        raise ValueError("a mirrored record is a JSON object")
    return data
