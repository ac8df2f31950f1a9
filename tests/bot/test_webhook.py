"""Webhook deliveries: HMAC-verified, once per delivery id, only the events the bot
handles; a refused delivery records nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cairn.bot import WebhookError
from cairn.bot import accept_webhook as accept
from cairn.bot import webhook_signature as signature
from cairn.store import SQLiteKV, ordered

SECRET = b"s3cret-for-tests"


def _delivery(
    event: str = "issues", delivery: str = "d-1", **payload: object
) -> tuple[dict[str, str], bytes]:
    body = json.dumps(
        payload or {"action": "opened", "issue": {"number": 7}, "repository": {"full_name": "o/r"}}
    ).encode()
    headers = {
        "x-github-event": event,
        "x-github-delivery": delivery,
        "x-hub-signature-256": signature(SECRET, body),
    }
    return headers, body


@pytest.fixture
def kv(tmp_path: Path) -> SQLiteKV:
    return SQLiteKV(tmp_path / "bot.db")


def _recorded(kv: SQLiteKV) -> int:
    return sum(
        1
        for _ in kv.scan(ordered.encode("bot.webhook"), ordered.encode("bot.webhook", ordered.Inf))
    )


def test_the_signature_is_githubs_hmac_sha256() -> None:
    # GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!"
    assert signature(b"It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_a_valid_delivery_names_its_project_and_issue(kv: SQLiteKV) -> None:
    headers, body = _delivery()
    got = accept(kv, SECRET, headers, body)
    assert (got.event, got.action, got.project, got.number) == ("issues", "opened", "o/r", 7)
    assert _recorded(kv) == 1


def test_a_replayed_delivery_is_409_and_changes_nothing(kv: SQLiteKV) -> None:
    headers, body = _delivery()
    accept(kv, SECRET, headers, body)
    with pytest.raises(WebhookError) as replay:
        accept(kv, SECRET, headers, body)
    assert replay.value.status == 409 and "replay" in str(replay.value)
    assert _recorded(kv) == 1


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"x-hub-signature-256": ""}, 401),
        ({"x-hub-signature-256": "sha256=" + "0" * 64}, 401),
        ({"x-github-event": "push"}, 400),
        ({"x-github-delivery": ""}, 400),
    ],
)
def test_refused_deliveries_record_nothing(
    kv: SQLiteKV, change: dict[str, str], status: int
) -> None:
    headers, body = _delivery()
    with pytest.raises(WebhookError) as refused:
        accept(kv, SECRET, {**headers, **change}, body)
    assert refused.value.status == status
    assert _recorded(kv) == 0


def test_a_tampered_body_is_refused(kv: SQLiteKV) -> None:
    headers, body = _delivery()
    with pytest.raises(WebhookError) as refused:
        accept(kv, SECRET, headers, body.replace(b"o/r", b"o/x"))
    assert refused.value.status == 401


def test_malformed_json_and_a_missing_repository_are_400(kv: SQLiteKV) -> None:
    body = b"{not json"
    headers = {
        "x-github-event": "issues",
        "x-github-delivery": "d",
        "x-hub-signature-256": signature(SECRET, body),
    }
    with pytest.raises(WebhookError) as bad:
        accept(kv, SECRET, headers, body)
    assert bad.value.status == 400
    headers, body = _delivery(action="opened", issue={"number": 1})
    with pytest.raises(WebhookError, match=r"repository\.full_name") as norepo:
        accept(kv, SECRET, headers, body)
    assert norepo.value.status == 400 and _recorded(kv) == 0


def test_a_ping_is_accepted_without_a_project(kv: SQLiteKV) -> None:
    headers, body = _delivery("ping", zen="Keep it logically awesome.")
    got = accept(kv, SECRET, headers, body)
    assert got.event == "ping" and got.project is None
