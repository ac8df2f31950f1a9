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
