"""A small httprr v1 trace written the way Gaby's recorder writes one (shared by the bot's
tests)."""

from __future__ import annotations

import json
from pathlib import Path

API = "https://api.github.com/repos/o/gabytest"
SINCE = "direction=asc&page=1&per_page=100&since=2000-01-01T00%3A00%3A00Z&sort=updated"


ISSUE = {
    "id": 11,
    "number": 1,
    "title": "gaby test issue",
    "body": "body",
    "state": "open",
    "user": {"login": "jba"},
    "labels": [],
    "comments": 1,
    "created_at": "2024-06-01T10:00:00Z",
    "updated_at": "2024-06-02T10:00:00Z",
    "html_url": "https://github.com/o/gabytest/issues/1",
}
COMMENT = {
    "id": 22,
    "body": "a comment",
    "user": {"login": "rsc"},
    "issue_url": f"{API}/issues/1",
    "created_at": "2024-06-02T10:00:00Z",
    "updated_at": "2024-06-02T10:00:00Z",
}
EVENT = {
    "id": 33,
    "event": "labeled",
    "actor": {"login": "rsc"},
    "created_at": "2024-06-02T11:00:00Z",
}


def record(method: str, url: str, status: str, body: object) -> bytes:
    """One record as Go's Request.Write / Response.Write print them (LF line ends)."""
    head = f"{method} {url} HTTP/1.1\nHost: api.github.com\n"
    request = (head + "User-Agent: Go-http-client/1.1\n\n").encode()
    payload = json.dumps(body).encode()
    response = (
        f"HTTP/2.0 {status}\nContent-Type: application/json; charset=utf-8\n"
        "X-Ratelimit-Remaining: 4999\n\n"
    ).encode() + payload
    return f"{len(request)} {len(response)}\n".encode() + request + response


def trace(tmp_path: Path) -> Path:
    path = tmp_path / "sync.httprr"
    path.write_bytes(
        b"httprr trace v1\n"
        + record(
            "GET",
            f"{API}/issues?{SINCE}&state=all",
            "200 OK",
            [ISSUE],
        )
        + record(
            "GET",
            f"{API}/issues/comments?direction=asc&page=1&sort=updated",
            "200 OK",
            [COMMENT],
        )
        + record(
            "GET",
            f"{API}/issues/1/events?page=1&per_page=100",
            "200 OK",
            [EVENT],
        )
        + record(
            "GET",
            f"{API}/labels?page=1",
            "200 OK",
            [{"id": 5, "name": "bug"}],
        )
        + record(
            "DELETE",
            f"{API}/labels/x",
            "404 Not Found",
            {"message": "Not Found"},
        )
    )
    return path
