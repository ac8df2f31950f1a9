"""The fake GitHub at the HTTP level: listings and their Link pagination, `since`,
conditional requests, injected faults, the rate limit, auth, and comment round trips."""

from __future__ import annotations

import re

import httpx2
import pytest

from cairn.bot.github import FakeGitHub

from .conftest import PROJECT


def _walk(url: str, params: dict[str, str]) -> list[dict[str, object]]:
    """Every item of a listing, following `rel="next"` until there is none."""
    items: list[dict[str, object]] = []
    next_url: str | None = url
    with httpx2.Client() as client:
        first = True
        while next_url is not None:
            r = client.get(next_url, params=params if first else None)
            first = False
            assert r.status_code == 200
            items += r.json()
            m = re.search(r'<([^>]+)>; rel="next"', r.headers.get("link", ""))
            next_url = m.group(1) if m else None
    return items


@pytest.mark.parametrize("per_page", [1, 7, 100])
def test_pagination_covers_every_record_exactly_once(fake: FakeGitHub, per_page: int) -> None:
    base = f"{fake.url}/repos/{PROJECT}"
    q = {"state": "all", "sort": "updated", "direction": "asc", "per_page": str(per_page)}
    issues = _walk(f"{base}/issues", q)
    assert sorted(int(str(i["number"])) for i in issues) == list(range(1, 26))
    assert sum(1 for i in issues if "pull_request" in i) == 3  # 7, 14, 21
    comments = _walk(f"{base}/issues/comments", q)
    assert len(comments) == 50 and len({c["id"] for c in comments}) == 50
    stamps = [(str(i["updated_at"]), int(str(i["number"]))) for i in issues]
    assert stamps == sorted(stamps)


def test_the_link_header_is_githubs_format(fake: FakeGitHub) -> None:
    r = httpx2.get(f"{fake.url}/repos/{PROJECT}/issues", params={"per_page": "10", "state": "all"})
    link = r.headers["link"]
    assert re.fullmatch(
        r'<http://127\.0\.0\.1:\d+/[^>]+page=2[^>]*>; rel="next", <[^>]+page=3[^>]*>; rel="last"',
        link,
    )


def test_since_keeps_what_was_updated_at_or_after(fake: FakeGitHub) -> None:
    fake.edit_issue(PROJECT, 3, title="changed")
    edited = fake.projects[PROJECT].issues[3]["updated_at"]
    r = httpx2.get(f"{fake.url}/repos/{PROJECT}/issues", params={"state": "all", "since": edited})
    assert [i["number"] for i in r.json()] == [3]


def test_a_matching_etag_is_a_304_with_no_body_and_costs_no_rate(fake: FakeGitHub) -> None:
    fake.rate_limit = 10
    url = f"{fake.url}/repos/{PROJECT}/issues/1"
    first = httpx2.get(url)
    assert first.headers["etag"].startswith('"') and "last-modified" in first.headers
    again = httpx2.get(url, headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert fake.requests[-1].body_bytes == 0
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"] == "9"


def test_injected_faults_answer_the_next_requests(fake: FakeGitHub) -> None:
    fake.fail(429, times=2, headers={"retry-after": "1"})
    url = f"{fake.url}/repos/{PROJECT}/issues/1"
    answers = [httpx2.get(url) for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["retry-after"] == "1"


def test_the_rate_limit_counts_down_then_refuses(fake: FakeGitHub) -> None:
    fake.rate_limit = 2
    url = f"{fake.url}/repos/{PROJECT}/issues/1"
    got = [httpx2.get(url) for _ in range(3)]
    assert [g.headers["x-ratelimit-remaining"] for g in got] == ["1", "0", "0"]
    assert got[2].status_code == 403
    assert int(got[2].headers["x-ratelimit-reset"]) >= int(got[1].headers["x-ratelimit-reset"]) - 1


def test_auth_404_and_422_are_githubs_answers() -> None:
    with FakeGitHub(token="s3cret") as fake:
        fake.add_issue(PROJECT, 1, title="t", body="b")
        url = f"{fake.url}/repos/{PROJECT}/issues"
        assert httpx2.get(url).status_code == 401
        assert httpx2.get(url).json() == {"message": "Bad credentials"}
        for auth in ("Bearer s3cret", "token s3cret"):
            assert httpx2.get(url, headers={"authorization": auth}).status_code == 200
        ok = {"authorization": "Bearer s3cret"}
        missing = httpx2.get(f"{fake.url}/repos/nobody/nothing/issues", headers=ok)
        assert missing.status_code == 404 and missing.json() == {"message": "Not Found"}
        assert httpx2.get(url, params={"per_page": "abc"}, headers=ok).status_code == 422


def test_post_edit_delete_a_comment(fake: FakeGitHub) -> None:
    base = f"{fake.url}/repos/{PROJECT}/issues"
    posted = httpx2.post(f"{base}/4/comments", json={"body": "hello"})
    assert posted.status_code == 201
    cid = posted.json()["id"]
    assert posted.json()["issue_url"].endswith("/issues/4")
    assert [c["body"] for c in fake.comments_on(PROJECT, 4)][-1] == "hello"
    edited = httpx2.patch(f"{base}/comments/{cid}", json={"body": "bye"})
    assert edited.status_code == 200 and edited.json()["body"] == "bye"
    assert edited.json()["updated_at"] >= posted.json()["updated_at"]
    assert httpx2.get(f"{base}/comments/{cid}").json()["body"] == "bye"
    assert httpx2.delete(f"{base}/comments/{cid}").status_code == 204
    assert httpx2.get(f"{base}/comments/{cid}").status_code == 404
    assert "bye" not in [c["body"] for c in fake.comments_on(PROJECT, 4)]
