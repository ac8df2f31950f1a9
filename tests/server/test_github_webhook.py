"""`POST /v1/github/webhook` on a real server: signed deliveries only (no bearer token),
each once; refused ones change nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.bot import webhook_signature
from cairn.store import SQLiteKV, ordered

from .conftest import Served

SECRET = "hook-secret-for-tests"


def _post(served: Served, body: bytes, **headers: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    with served.http(token=None) as http:
        answer = http.post("/v1/github/webhook", content=body, headers=headers)
    return answer.status_code, answer.json()


def _signed(body: bytes, event: str = "issues", delivery: str = "d-1") -> dict[str, str]:
    return {
        "x-github-event": event,
        "x-github-delivery": delivery,
        "x-hub-signature-256": webhook_signature(SECRET.encode(), body),
        "content-type": "application/json",
    }


BODY = json.dumps(
    {"action": "opened", "issue": {"number": 3}, "repository": {"full_name": "o/r"}}
).encode()


@pytest.fixture
def hooked(
    make_served: Callable[..., Served], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Served, Path]:
    monkeypatch.setenv("CAIRN_GITHUB_WEBHOOK_SECRET", SECRET)
    store = tmp_path / "bot.db"
    return make_served(store=str(store)), store


def _deliveries(store: Path) -> int:
    kv = SQLiteKV(store)
    try:
        prefix = ordered.encode("bot.webhook")
        return sum(1 for _ in kv.scan(prefix, ordered.encode("bot.webhook", ordered.Inf)))
    finally:
        kv.close()


def test_a_signed_delivery_is_accepted_once_without_a_token(hooked: tuple[Served, Path]) -> None:
    served, store = hooked
    status, answer = _post(served, BODY, **_signed(BODY))
    assert status == 202 and answer["project"] == "o/r" and answer["event"] == "issues"
    status, answer = _post(served, BODY, **_signed(BODY))
    assert status == 409 and "replay" in answer["detail"]
    assert _deliveries(store) == 1


def test_unsigned_badly_signed_and_unhandled_deliveries_are_refused(
    hooked: tuple[Served, Path],
) -> None:
    served, store = hooked
    headers = _signed(BODY)
    unsigned = {k: v for k, v in headers.items() if k != "x-hub-signature-256"}
    assert _post(served, BODY, **unsigned)[0] == 401
    bad = {**headers, "x-hub-signature-256": webhook_signature(b"wrong", BODY)}
    assert _post(served, BODY, **bad)[0] == 401
    assert _post(served, BODY, **_signed(BODY, event="push", delivery="d-2"))[0] == 400
    assert _post(served, b"[1]", **_signed(b"[1]", delivery="d-3"))[0] == 400
    assert _deliveries(store) == 0


def test_without_a_secret_the_route_says_how_to_configure_it(
    make_served: Callable[..., Served], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CAIRN_GITHUB_WEBHOOK_SECRET", raising=False)
    served = make_served(store=str(tmp_path / "bot.db"))
    status, answer = _post(served, BODY, **_signed(BODY))
    assert status == 503 and "CAIRN_GITHUB_WEBHOOK_SECRET" in answer["detail"]


def test_other_routes_still_need_the_token(hooked: tuple[Served, Path]) -> None:
    served, _ = hooked
    with served.http(token=None) as http:
        assert (
            http.get("/v1/sessions", headers={"x-hub-signature-256": "sha256=x"}).status_code == 401
        )


def test_with_the_bot_a_delivery_brings_the_related_comment_within_seconds(
    make_served: Callable[..., Served], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cairn serve --bot`: a webhook for a new issue makes the server sync the project,
    embed it and post the related-issues comment, without waiting for the poll."""
    from cairn.bot.github import DEMO_PROJECT, FakeGitHub, demo_project

    from .._wait import wait_until

    monkeypatch.setenv("CAIRN_GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("GITHUB_TOKEN", "")
    with FakeGitHub({DEMO_PROJECT: demo_project(20)}) as fake:
        config_dir = tmp_path / "config0"  # what make_served gives its first server
        config_dir.mkdir()
        (config_dir / "cairn.toml").write_text(
            f'[bot]\nprojects = ["{DEMO_PROJECT}"]\napi = "{fake.url}"\nevery = "1h"\n'
            "[bot.related]\nthreshold = 0.3\nwindow_days = 36500\n"
        )
        served = make_served(store=str(tmp_path / "bot.db"), bot=True, embedder="hash")
        issue = fake.add_issue(
            DEMO_PROJECT, title="cairn run hangs reading stdin", body="waits forever"
        )
        body = json.dumps(
            {
                "action": "opened",
                "issue": {"number": issue["number"]},
                "repository": {"full_name": DEMO_PROJECT},
            }
        ).encode()
        status, answer = _post(served, body, **_signed(body, delivery="d-bot"))
        assert status == 202 and answer["queued"] is True

        def commented() -> bool:
            return any(
                "Related Issues" in c["body"]
                for c in fake.comments_on(DEMO_PROJECT, issue["number"])
            )

        assert wait_until(commented, timeout=60)


def test_the_action_log_over_http_needs_the_token_and_records_the_decider(
    make_served: Callable[..., Served], tmp_path: Path
) -> None:
    from cairn.bot import ActionLog

    store = tmp_path / "bot.db"
    kv = SQLiteKV(store)
    log = ActionLog(kv)
    a = log.add("post_comment", "k1", project="o/r", number=1, body="x", approval_required=True)
    b = log.add("post_comment", "k2", project="o/r", number=2, body="y", approval_required=True)
    kv.close()
    served = make_served(store=str(store))
    with served.http(token=None) as anonymous:
        assert anonymous.get("/v1/bot/actions").status_code == 401
    with served.http() as http:
        listed = http.get("/v1/bot/actions", params={"state": "pending"}).json()
        assert [x["id"] for x in listed] == [a.id, b.id]
        assert http.post(f"/v1/bot/actions/{a.id}/approve", json={}).status_code == 422
        approved = http.post(f"/v1/bot/actions/{a.id[:20]}/approve", json={"who": "alice"})
        assert approved.status_code == 200 and approved.json()["state"] == "approved"
        assert approved.json()["decisions"][0]["who"] == "alice"
        denied = http.post(f"/v1/bot/actions/{b.id}/deny", json={"who": "bob"}).json()
        assert denied["state"] == "denied"
        assert http.get("/v1/bot/actions/nope").status_code == 404
        assert http.get(f"/v1/bot/actions/{b.id}").json()["decisions"][0]["who"] == "bob"
