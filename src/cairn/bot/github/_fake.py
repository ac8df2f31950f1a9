"""A loopback fake of GitHub's REST API for tests, demos and `cairn bot fake-github`: the
issues, comments and events of some projects, served the way api.github.com serves them,
so the real client code runs against it.

It speaks: the repository listings of issues (`state`, `sort=updated`, `direction`,
`since`, any `per_page` up to 100, `page`), of issue comments (the same) and of issue
events (newest first); one issue, its comments, one comment; posting, editing and
deleting a comment; adding labels. Every answer carries GitHub's headers: a `Link` header
with `rel="next"`/`rel="last"` in GitHub's format, a strong `ETag` over the body,
`Last-Modified`, and the `x-ratelimit-*` headers. A GET whose `If-None-Match` matches is
answered 304 with no body and does not count against the rate limit, as on GitHub.

Faults on demand: `fail(status, times=, headers=)` answers the next requests with an
error (429 with `retry-after`, 5xx, a 403 secondary limit, malformed JSON); `rate_limit`
counts down `x-ratelimit-remaining` and answers 403 at zero until `x-ratelimit-reset`.
A `token` makes every request need `Authorization: Bearer <token>` (401 otherwise).

Hand-written on the standard library's `ThreadingHTTPServer` rather than a framework: a
fake must control every header and status byte for byte, and needs nothing else.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


def iso(t: float) -> str:
    """GitHub's time format: `2024-01-02T03:04:05Z`."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Project:
    """One owner/repo: its issues (by number), comments and events (by id), as GitHub's
    JSON."""

    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    """One request the fake answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    body_bytes: int


@dataclass
class _Fault:
    status: int
    times: int
    headers: dict[str, str]
    body: bytes


class FakeGitHub:
    """GitHub's REST API over `projects`, on 127.0.0.1 (`start()`, `url`, `stop()`)."""

    def __init__(
        self, projects: dict[str, Project] | None = None, *, token: str | None = None
    ) -> None:
        self.projects: dict[str, Project] = projects if projects is not None else {}
        self.token = token
        self.requests: list[Seen] = []
        self.rate_limit: int | None = None  # requests left in the window (None: no limit)
        self.rate_reset_s = 1.0  # how long a spent window lasts
        self.clock = time.time  # what "now" is for new records
        self.lock = threading.RLock()
        self._faults: list[_Fault] = []
        self._next_id = 1_000_000
        self.version = 0  # bumped by every change: listings are cached per version
        self._listings: dict[tuple[Any, ...], tuple[list[dict[str, Any]], list[str]]] = {}
        self._reset_at = 0.0
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        if not self.url:
            self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- data --------------------------------------------------------------------------

    def project(self, name: str) -> Project:
        with self.lock:
            return self.projects.setdefault(name, Project())

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def add_issue(
        self,
        project: str,
        number: int | None = None,
        *,
        title: str,
        body: str = "",
        user: str = "someone",
        state: str = "open",
        created_at: float | None = None,
        labels: list[str] | None = None,
        pull_request: bool = False,
    ) -> dict[str, Any]:
        with self.lock:
            self.version += 1
            p = self.project(project)
            number = number if number is not None else max(p.issues, default=0) + 1
            t = created_at if created_at is not None else self.clock()
            issue: dict[str, Any] = {
                "id": self.new_id(),
                "node_id": f"I_{number}",
                "number": number,
                "title": title,
                "body": body,
                "user": {"login": user},
                "state": state,
                "labels": [{"name": name} for name in labels or []],
                "comments": 0,
                "created_at": iso(t),
                "updated_at": iso(t),
                "closed_at": iso(t) if state == "closed" else None,
                "url": f"{self.url}/repos/{project}/issues/{number}",
                "html_url": f"https://github.com/{project}/issues/{number}",
            }
            if pull_request:
                issue["pull_request"] = {"url": f"{self.url}/repos/{project}/pulls/{number}"}
            p.issues[number] = issue
            return issue

    def add_comment(
        self,
        project: str,
        number: int,
        *,
        body: str,
        user: str = "someone",
        created_at: float | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            self.version += 1
            p = self.project(project)
            t = created_at if created_at is not None else self.clock()
            cid = self.new_id()
            comment = {
                "id": cid,
                "node_id": f"IC_{cid}",
                "body": body,
                "user": {"login": user},
                "created_at": iso(t),
                "updated_at": iso(t),
                "issue_url": f"{self.url}/repos/{project}/issues/{number}",
                "url": f"{self.url}/repos/{project}/issues/comments/{cid}",
                "html_url": f"https://github.com/{project}/issues/{number}#issuecomment-{cid}",
            }
            p.comments[cid] = comment
            if number in p.issues:  # as on GitHub: a new comment updates its issue
                issue = p.issues[number]
                issue["comments"] += 1
                issue["updated_at"] = max(issue["updated_at"], iso(t))
            return comment

    def add_event(
        self,
        project: str,
        number: int,
        event: str,
        *,
        actor: str = "someone",
        created_at: float | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            self.version += 1
            p = self.project(project)
            eid = self.new_id()
            record = {
                "id": eid,
                "event": event,
                "actor": {"login": actor},
                "created_at": iso(created_at if created_at is not None else self.clock()),
                "issue": {"number": number, "url": f"{self.url}/repos/{project}/issues/{number}"},
            }
            p.events[eid] = record
            return record

    def edit_issue(self, project: str, number: int, **fields: Any) -> dict[str, Any]:
        with self.lock:
            self.version += 1
            issue = self.project(project).issues[number]
            issue.update(fields)
            issue["updated_at"] = iso(self.clock())
            return issue

    def edit_comment(self, project: str, comment_id: int, body: str) -> dict[str, Any]:
        with self.lock:
            self.version += 1
            comment = self.project(project).comments[comment_id]
            comment["body"] = body
            comment["updated_at"] = iso(self.clock())
            return comment

    def listing(self, project: str, api: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """A repository listing, filtered and sorted (cached until the data changes; a
        `since` on a listing sorted by update is a bisection of the cached one, as an
        index would serve it)."""
        since = query.get("since")
        by_update = query.get("sort") == "updated"
        ignored = ("page", "per_page", "since") if by_update else ("page", "per_page")
        wanted = tuple(sorted((k, v) for k, v in query.items() if k not in ignored))
        key = (project, api, wanted, self.version)
        with self.lock:
            if key not in self._listings:
                if len(self._listings) > 64:
                    self._listings.clear()
                p = self.project(project)
                items = list(p.issues.values() if api == "issues" else p.comments.values())
                unfiltered = {k: v for k, v in query.items() if k not in ignored}
                listed = _listing(items, unfiltered, issues=api == "issues")
                stamps = sorted(i["updated_at"] for i in listed)
                self._listings[key] = (listed, stamps)
            items, stamps = self._listings[key]
            if not (by_update and since):
                return items
            newer = len(items) - bisect.bisect_left(stamps, since)
            if query.get("direction", "desc" if api == "issues" else "asc") == "asc":
                return items[len(items) - newer :]
            return items[:newer]

    def comments_on(self, project: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return [
                c
                for c in self.project(project).comments.values()
                if _number_of(c["issue_url"]) == number
            ]

    # -- faults ------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Answer the next `times` requests with `status` (and `headers`, `body`)."""
        with self.lock:
            self._faults.append(_Fault(status, times, headers or {}, body))

    def _take_fault(self) -> _Fault | None:
        with self.lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            return fault


def _number_of(issue_url: str) -> int:
    return int(issue_url.rstrip("/").rsplit("/", 1)[1])


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    per_page = int(query.get("per_page") or 30)
    page = int(query.get("page") or 1)
    if not 1 <= per_page <= 100:
        per_page = 100 if per_page > 100 else 30
    if page < 1:
        raise ValueError("page")
    last = max(1, -(-len(items) // per_page))
    return items[(page - 1) * per_page : page * per_page], last


class _Handler(BaseHTTPRequestHandler):
    owner: FakeGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # -- plumbing ----------------------------------------------------------------------

    def _serve(self, method: str) -> None:
        fake = self.owner
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, body, extra = self._answer(method, parts.path, query, headers, raw)
        with fake.lock:
            fake.requests.append(Seen(method, parts.path, query, headers, status, len(body)))
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _limits(self, counted: bool) -> dict[str, str]:
        fake = self.owner
        with fake.lock:
            now = time.time()
            if fake.rate_limit is None:
                return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999"}
            if fake.rate_limit <= 0 and now >= fake._reset_at:
                fake.rate_limit = 5000
            if counted and fake.rate_limit > 0:
                fake.rate_limit -= 1
                if fake.rate_limit == 0:
                    fake._reset_at = now + fake.rate_reset_s
            reset = int(fake._reset_at if fake.rate_limit == 0 else now + 3600)
            return {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": str(fake.rate_limit),
                "x-ratelimit-reset": str(reset + (1 if fake.rate_limit == 0 else 0)),
            }

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        raw: bytes,
    ) -> tuple[int, bytes, dict[str, str]]:
        fake = self.owner
        plain = {"content-type": "application/json; charset=utf-8"}
        if fake.token is not None:
            given = headers.get("authorization", "")
            if given not in (f"Bearer {fake.token}", f"token {fake.token}"):
                return 401, b'{"message": "Bad credentials"}', plain
        with fake.lock:
            if (
                fake.rate_limit is not None
                and fake.rate_limit <= 0
                and time.time() < fake._reset_at
            ):
                limits = self._limits(counted=False)
                body = b'{"message": "API rate limit exceeded"}'
                return 403, body, {**plain, **limits}
        fault = fake._take_fault()
        if fault is not None:
            return fault.status, fault.body, {**plain, **fault.headers}
        try:
            status, data = self._route(method, path.rstrip("/"), query, raw)
        except _NotFound:
            return 404, b'{"message": "Not Found"}', {**plain, **self._limits(True)}
        except ValueError as exc:
            message = json.dumps({"message": f"Validation Failed: {exc}"}).encode()
            return 422, message, {**plain, **self._limits(True)}
        if status == 204:
            return 204, b"", self._limits(True)
        items = data if isinstance(data, list) else None
        extra = dict(plain)
        if items is not None:
            items, last = _page(items, query)
            link = self._link(path, query, last)
            if link:
                extra["link"] = link
            data = items
        body = json.dumps(data).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
        extra["etag"] = etag
        extra["last-modified"] = formatdate(time.time(), usegmt=True)
        if method == "GET" and headers.get("if-none-match") == etag:
            extra.update(self._limits(counted=False))
            return 304, b"", extra
        extra.update(self._limits(counted=True))
        return status, body, extra

    def _link(self, path: str, query: dict[str, str], last: int) -> str:
        page = int(query.get("page") or 1)
        base = f"{self.owner.url}{path}"

        def at(n: int) -> str:
            return f"<{base}?{urlencode({**query, 'page': str(n)})}>"

        links = []
        if page < last:
            links += [f'{at(page + 1)}; rel="next"', f'{at(last)}; rel="last"']
        if page > 1:
            links += [f'{at(1)}; rel="first"', f'{at(page - 1)}; rel="prev"']
        return ", ".join(links)

    def _route(self, method: str, path: str, query: dict[str, str], raw: bytes) -> tuple[int, Any]:
        fake = self.owner
        bits = path.strip("/").split("/")
        if len(bits) < 4 or bits[0] != "repos":
            raise _NotFound
        project = f"{bits[1]}/{bits[2]}"
        with fake.lock:
            if project not in fake.projects:
                raise _NotFound
            p = fake.projects[project]
            rest = bits[3:]
            for key in ("per_page", "page"):
                if key in query and not query[key].lstrip("-").isdigit():
                    raise ValueError(f"{key} must be a number")
            if method == "GET" and rest == ["issues"]:
                return 200, fake.listing(project, "issues", query)
            if method == "GET" and rest == ["issues", "comments"]:
                return 200, fake.listing(project, "comments", query)
            if method == "GET" and rest == ["issues", "events"]:
                return 200, sorted(p.events.values(), key=lambda e: -int(e["id"]))
            if rest[:2] == ["issues", "comments"] and len(rest) == 3 and rest[2].isdigit():
                cid = int(rest[2])
                if cid not in p.comments:
                    raise _NotFound
                if method == "GET":
                    return 200, p.comments[cid]
                if method == "PATCH":
                    return 200, fake.edit_comment(project, cid, _body(raw))
                if method == "DELETE":
                    issue = p.issues.get(_number_of(p.comments[cid]["issue_url"]))
                    del p.comments[cid]
                    fake.version += 1
                    if issue is not None:
                        issue["comments"] -= 1
                    return 204, None
            if len(rest) >= 2 and rest[0] == "issues" and rest[1].isdigit():
                number = int(rest[1])
                if number not in p.issues:
                    raise _NotFound
                if method == "GET" and len(rest) == 2:
                    return 200, p.issues[number]
                if rest[2:] == ["comments"] and method == "GET":
                    return 200, _listing(fake.comments_on(project, number), query, issues=False)
                if rest[2:] == ["comments"] and method == "POST":
                    return 201, fake.add_comment(project, number, body=_body(raw), user="cairn-bot")
                if rest[2:] == ["labels"] and method == "POST":
                    labels = json.loads(raw or b"{}").get("labels", [])
                    issue = p.issues[number]
                    names = [x["name"] for x in issue["labels"]]
                    issue["labels"] += [{"name": n} for n in labels if n not in names]
                    fake.version += 1
                    issue["updated_at"] = iso(fake.clock())
                    return 200, issue["labels"]
        raise _NotFound


class _NotFound(Exception):
    pass


def _body(raw: bytes) -> str:
    try:
        body = json.loads(raw)["body"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("the request needs a JSON body with a string `body`") from None
    if not isinstance(body, str):
        raise ValueError("`body` must be a string")
    return body


def _listing(items: list[dict[str, Any]], query: dict[str, str], *, issues: bool) -> list[Any]:
    """Filtered and sorted as GitHub does: `state` (issues), `since`, `sort`, `direction`."""
    if issues:
        state = query.get("state", "open")
        if state != "all":
            items = [i for i in items if i["state"] == state]
    since = query.get("since")
    if since:
        items = [i for i in items if i["updated_at"] >= since]
    key = "updated_at" if query.get("sort", "created") == "updated" else "created_at"
    items.sort(key=lambda i: (i[key], i.get("number", i["id"])))
    if query.get("direction", "desc" if issues else "asc") == "desc":
        items.reverse()
    return items
