"""httprr v1 traces (as Gaby records them) seed the fake GitHub: the records they carry
are served to Cairn's sync however differently it asks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cairn.bot import mirror
from cairn.bot.github import (
    FakeGitHub,
    GitHub,
    GitHubClient,
    TraceError,
    projects_from_traces,
    read_trace,
)
from cairn.store import SQLiteKV

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


def test_a_trace_is_read_record_by_record(tmp_path: Path) -> None:
    exchanges = read_trace(trace(tmp_path))
    assert [(e.method, e.path, e.status) for e in exchanges][:2] == [
        ("GET", "/repos/o/gabytest/issues", 200),
        ("GET", "/repos/o/gabytest/issues/comments", 200),
    ]
    assert json.loads(exchanges[0].body) == [ISSUE] and exchanges[-1].status == 404


def test_recorded_traffic_drives_cairns_sync(tmp_path: Path) -> None:
    projects = projects_from_traces([trace(tmp_path)])
    assert list(projects) == ["o/gabytest"]
    p = projects["o/gabytest"]
    assert list(p.issues) == [1] and list(p.comments) == [22] and list(p.events) == [33]
    assert p.events[33]["issue"] == {"number": 1}  # filed by the path it came from
    kv = SQLiteKV(tmp_path / "bot.db")
    with FakeGitHub(projects) as fake:
        GitHub(GitHubClient(fake.url), per_page=7).sync(kv, "o/gabytest")
    assert sum(1 for _ in mirror(kv).scan()) == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a trace\n", "no 'httprr trace v1' header"),
        (b"httprr trace v1\n10 10\nGET", "truncated"),
        (b"httprr trace v1\nx y\n", "bad record header"),
    ],
)
def test_a_damaged_trace_is_one_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.httprr"
    path.write_bytes(data)
    with pytest.raises(TraceError, match=message):
        read_trace(path)
