"""`GitHub`, the `cairn.bot.Tracker` for GitHub: the incremental mirror sync and the few
edits the bot makes.

A sync of a project reads three listings into the mirror (`cairn.bot.mirror`, GitHub's
raw JSON under `(project, issue number, api, id)`):

- issues (`/issues?state=all&sort=updated&direction=asc&since=…&per_page=100`; pull
  requests included, as GitHub lists them),
- issue comments (`/issues/comments?sort=updated&direction=asc&since=…&per_page=100`),

both paged by their cursor: while `Link` has a `rel="next"`, the next request asks from
the newest `updated_at` read so far. Paging by number (GitHub's `page=`) would skip a
record whenever one already read is edited during the sync: the edited one moves to the
listing's end and pushes an unread one back onto a page already read. Only when a whole
page shares one timestamp does the sync follow `rel="next"` as given.
- issue events (`/issues/events?per_page=100`, newest first: read until a page holds
  only events already mirrored).

Each page's records and the listing's cursor are written in one atomic batch, so a sync
killed at any point resumes from its last page with nothing doubled or lost (a record
written again is the same key and value). When a listing ends, one more request primes
its ETag for the next pass, so an idle re-sync costs one conditional request per listing,
answered 304 with no body (a 304 does not count against GitHub's rate limit).

Layout (keys encoded with `ordered`):
  ("bot.github", project, api) → JSON {since, etag, etag_since, seen_event}

The events listing is newest first and has no `since`; an event is never edited, and the
sync reads until it meets one already mirrored, so new events during a sync are read on
the next pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import orjson

from ...store import KV, ordered
from .._errors import TrackerError
from .._tracker import COMMENTS, EVENTS, ISSUES, Posted, SyncReport, mirror, mirror_key
from ._client import DEFAULT_API, GitHubClient, Wait, github_token

_STATE = "bot.github"
# (listing, records read so far, an estimate of the listing's total from `rel="last"`)
Progress = Callable[[str, int, int], None]


def _issue_number(url: Any) -> int | None:
    if not isinstance(url, str):
        return None
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _records(project: str, api: str, items: Any) -> list[tuple[bytes, bytes]]:
    """Mirror entries for a page of `api`; TrackerError when the page is not a list of
    records (nothing of it is stored then)."""
    if not isinstance(items, list):
        raise TrackerError(f"GitHub's {api} listing for {project} is not a JSON list")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            raise TrackerError(f"GitHub's {api} listing for {project} holds a malformed record")
        if api == ISSUES:
            number = item.get("number")
        elif api == COMMENTS:
            number = _issue_number(item.get("issue_url"))
        else:
            issue = item.get("issue")
            number = issue.get("number") if isinstance(issue, dict) else None
        if not isinstance(number, int):
            continue  # an event of a deleted issue, say: nothing to file it under
        id_ = number if api == ISSUES else int(item["id"])
        out.append((mirror_key(project, number, api, id_), orjson.dumps(item)))
    return out


class GitHub:
    """The GitHub tracker (see the module docstring); `client` does the HTTP."""

    name = "github"

    def __init__(self, client: GitHubClient, *, per_page: int = 100) -> None:
        self.client = client
        self.per_page = per_page
        self.progress: Progress | None = None

    @classmethod
    def open(
        cls,
        api: str = DEFAULT_API,
        *,
        token: str | None = None,
        on_wait: Wait | None = None,
        transport: Any = None,
        per_page: int = 100,
    ) -> GitHub:
        """A tracker on `api` with the token from the environment or ~/.netrc."""
        token = token if token is not None else github_token()
        client = GitHubClient(api, token=token, on_wait=on_wait, transport=transport)
        return cls(client, per_page=per_page)

    def close(self) -> None:
        self.client.close()

    # -- sync ------------------------------------------------------------------------------

    def sync(self, kv: KV, project: str) -> SyncReport:
        before = self.client.requests
        counts = {"records": 0, "not_modified": 0, "bytes": 0}
        # The repository first: a clear 404/401 before anything is written.
        for api in (ISSUES, COMMENTS):
            self._sync_updated(kv, project, api, counts)
        self._sync_events(kv, project, counts)
        return SyncReport(
            project=project,
            requests=self.client.requests - before,
            not_modified=counts["not_modified"],
            records=counts["records"],
            body_bytes=counts["bytes"],
        )

    def _state_key(self, project: str, api: str) -> bytes:
        return ordered.encode(_STATE, project, api)

    def _state(self, kv: KV, project: str, api: str) -> dict[str, Any]:
        raw = kv.get(self._state_key(project, api))
        if raw is None:
            return {}
        try:
            state = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {}  # damaged: start the listing over (idempotent)
        return state if isinstance(state, dict) else {}

    def _listing_params(self, api: str, since: str | None) -> dict[str, str]:
        params = {"sort": "updated", "direction": "asc", "per_page": str(self.per_page)}
        if api == ISSUES:
            params["state"] = "all"
        if since:
            params["since"] = since
        return params

    def _sync_updated(self, kv: KV, project: str, api: str, counts: dict[str, int]) -> None:
        state = self._state(kv, project, api)
        since = state.get("since")
        url = self.client.url(f"repos/{project}{api}")
        what = f"{project} ({api.strip('/')})"
        etag = state.get("etag") if state.get("etag_since") == since else None
        page = self.client.request(
            "GET", url, params=self._listing_params(api, since), etag=etag, what=what
        )
        if page.status == 304:
            counts["not_modified"] += 1
            return
        asked_since, newest, read = since, since, 0
        again: set[Any] = set()  # ids this page repeats from the last (the cursor's own)
        while True:
            records = _records(project, api, page.data)
            newest = max([newest or "", *(str(i.get("updated_at") or "") for i in page.data)])
            state = {"since": newest or None}
            counts["records"] += self._write(kv, project, api, records, state)
            counts["bytes"] += page.body_bytes
            read += sum(1 for i in page.data if i.get("id") not in again)
            again = set()
            if self.progress is not None:
                self.progress(what, read, read + page.pages_left * self.per_page)
            next_url = page.next_url
            if next_url is None:
                break
            if newest and newest != asked_since:
                # Page by the cursor, not by number: a record edited meanwhile moves to
                # the listing's end and would shift an unread one onto a page already
                # read. `since` is inclusive, so the last timestamp's records come again
                # (unchanged ones are not rewritten).
                asked_since = newest
                again = {i.get("id") for i in page.data if i.get("updated_at") == newest}
                params = self._listing_params(api, newest)
                page = self.client.request("GET", url, params=params, what=what)
            else:  # a whole page of one timestamp: only GitHub's next page moves on
                page = self.client.request("GET", next_url, what=what)
        # Prime the ETag of the next pass's first request, so an idle pass is one 304.
        params = self._listing_params(api, state["since"])
        primed = self.client.request("GET", url, params=params, what=what)
        if primed.status == 200 and primed.next_url is None:
            records = _records(project, api, primed.data)
            state["etag"] = primed.headers.get("etag")
            state["etag_since"] = state["since"]
            counts["records"] += self._write(kv, project, api, records, state)
            counts["bytes"] += primed.body_bytes

    def _sync_events(self, kv: KV, project: str, counts: dict[str, int]) -> None:
        state = self._state(kv, project, EVENTS)
        seen = int(state.get("seen_event") or 0)
        url = self.client.url(f"repos/{project}{EVENTS}")
        what = f"{project} (issues/events)"
        page = self.client.request(
            "GET", url, params={"per_page": str(self.per_page)}, etag=state.get("etag"), what=what
        )
        if page.status == 304:
            counts["not_modified"] += 1
            return
        first_etag = page.headers.get("etag")
        newest = seen
        batch_records: list[tuple[bytes, bytes]] = []
        while True:
            if not isinstance(page.data, list):
                raise TrackerError(f"GitHub's issues/events listing for {project} is not a list")
            fresh = [e for e in page.data if isinstance(e, dict) and int(e.get("id") or 0) > seen]
            batch_records += _records(project, EVENTS, fresh)
            newest = max([newest, *(int(e["id"]) for e in fresh)])
            counts["bytes"] += page.body_bytes
            if page.next_url is None or len(fresh) < len(page.data):
                break
            page = self.client.request("GET", page.next_url, what=what)
        # Newest first: the cursor moves only once every new event is in (one batch).
        state = {"seen_event": newest, "etag": first_etag}
        counts["records"] += self._write(kv, project, EVENTS, batch_records, state)

    def _write(
        self,
        kv: KV,
        project: str,
        api: str,
        records: list[tuple[bytes, bytes]],
        state: dict[str, Any],
    ) -> int:
        """Write the records that changed and the listing's state, in one batch; returns
        how many records changed."""
        # A record as already mirrored is not written again: consumers (docs,
        # embeddings, jobs) see only what changed.
        collection = mirror(kv)
        changed = []
        for key, value in records:
            entry = collection.get(key)
            if entry is None or entry.value != value:
                changed.append((key, value))
        batch = kv.batch()
        batch.set(self._state_key(project, api), orjson.dumps(state))
        collection.set_many(changed, batch=batch)
        return len(changed)

    # -- the bot's edits --------------------------------------------------------------------

    def _posted(self, data: Any) -> Posted:
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise TrackerError("GitHub's answer is not a comment")
        return Posted(int(data["id"]), str(data.get("html_url") or ""), str(data.get("body") or ""))

    def comments(self, project: str, number: int) -> Iterator[Posted]:
        url: str | None = self.client.url(f"repos/{project}/issues/{number}/comments")
        params: dict[str, str] | None = {"per_page": "100"}
        while url is not None:
            page = self.client.request("GET", url, params=params, what=f"{project}#{number}")
            params = None
            if not isinstance(page.data, list):
                raise TrackerError(f"GitHub's comments of {project}#{number} are not a list")
            yield from (self._posted(c) for c in page.data)
            url = page.next_url

    def comment(self, project: str, comment_id: int) -> Posted | None:
        from .._errors import TrackerAuthError

        url = self.client.url(f"repos/{project}/issues/comments/{comment_id}")
        try:
            page = self.client.request("GET", url, what=f"comment {comment_id} of {project}")
        except TrackerAuthError as exc:
            if "(404)" in str(exc):
                return None
            raise
        return self._posted(page.data)

    def post_comment(self, project: str, number: int, body: str) -> Posted:
        url = self.client.url(f"repos/{project}/issues/{number}/comments")
        page = self.client.request("POST", url, json={"body": body}, what=f"{project}#{number}")
        return self._posted(page.data)

    def edit_comment(self, project: str, comment_id: int, body: str) -> Posted:
        url = self.client.url(f"repos/{project}/issues/comments/{comment_id}")
        what = f"comment {comment_id} of {project}"
        page = self.client.request("PATCH", url, json={"body": body}, what=what)
        return self._posted(page.data)

    def add_labels(self, project: str, number: int, labels: list[str]) -> list[str]:
        url = self.client.url(f"repos/{project}/issues/{number}/labels")
        page = self.client.request("POST", url, json={"labels": labels}, what=f"{project}#{number}")
        if not isinstance(page.data, list):
            raise TrackerError(f"GitHub's labels of {project}#{number} are not a list")
        return [str(x.get("name")) for x in page.data if isinstance(x, dict)]


def mirror_projects(kv: KV, projects: dict[str, Any]) -> int:
    """Write projects' issues, comments and events (GitHub JSON, e.g. from `load_txt`)
    into the mirror as a sync would; returns how many records changed."""
    collection = mirror(kv)
    changed = []
    for name, project in projects.items():
        records = (
            _records(name, ISSUES, list(project.issues.values()))
            + _records(name, COMMENTS, list(project.comments.values()))
            + _records(name, EVENTS, list(project.events.values()))
        )
        for key, value in records:
            entry = collection.get(key)
            if entry is None or entry.value != value:
                changed.append((key, value))
    collection.set_many(changed)
    return len(changed)
