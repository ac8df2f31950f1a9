"""GitHub webhook deliveries: verified, deduplicated, and turned into the project whose
mirror and jobs must run now.

A delivery is accepted only when its `X-Hub-Signature-256` is the HMAC-SHA256 of the raw
body under the shared secret (compared in constant time), and only once: its
`X-GitHub-Delivery` id is recorded in the store, so a replayed delivery is refused
(409) and changes nothing. `issues` and `issue_comment` deliveries name the project to
sync; `ping` is acknowledged; any other event is refused (400) — the webhook should be
configured for those two events only.

Layout (keys encoded with `ordered`):
  ("bot.webhook", delivery id)   → JSON {event, project, received}
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from ..store import KV, ordered
from ._errors import BotError

SECRET_VARIABLE = "CAIRN_GITHUB_WEBHOOK_SECRET"
EVENTS = frozenset({"issues", "issue_comment"})
_PREFIX = "bot.webhook"
_LOCK = "bot.webhook"


class WebhookError(BotError):
    """A delivery that is refused: `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Delivery:
    """An accepted delivery: its id, its event, and the project it is about (None for a
    ping)."""

    id: str
    event: str
    action: str | None
    project: str | None
    number: int | None


def webhook_secret(env: Mapping[str, str] | None = None) -> bytes | None:
    """The shared secret from the environment (None: webhooks are not configured)."""
    value = (os.environ if env is None else env).get(SECRET_VARIABLE)
    return value.encode() if value else None


def signature(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` value GitHub sends for `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, given: str | None) -> None:
    """WebhookError(401) unless `given` is the body's signature under `secret`."""
    if not given:
        raise WebhookError(401, "unsigned delivery: X-Hub-Signature-256 is missing")
    if not hmac.compare_digest(signature(secret, body), given.strip()):
        raise WebhookError(
            401,
            f"bad signature: X-Hub-Signature-256 does not match the body under {SECRET_VARIABLE}",
        )


def accept(kv: KV, secret: bytes, headers: Mapping[str, str], body: bytes) -> Delivery:
    """Verify, parse and record one delivery (`headers` with lower-case names).

    Raises WebhookError: 401 unsigned or badly signed, 400 malformed or an event other
    than issues/issue_comment/ping, 409 a delivery id seen before. Nothing is recorded
    for a refused delivery.
    """
    verify(secret, body, headers.get("x-hub-signature-256"))
    delivery_id = (headers.get("x-github-delivery") or "").strip()
    if not delivery_id or len(delivery_id) > 200:
        raise WebhookError(400, "X-GitHub-Delivery is missing")
    event = (headers.get("x-github-event") or "").strip()
    if event != "ping" and event not in EVENTS:
        raise WebhookError(
            400, f"event {event!r} is not handled: send only issues and issue_comment events"
        )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise WebhookError(400, "the delivery's body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookError(400, "the delivery's body is not a JSON object")
    project = number = action = None
    if event != "ping":
        repo = payload.get("repository")
        issue = payload.get("issue")
        name = repo.get("full_name") if isinstance(repo, dict) else None
        if not isinstance(name, str) or name.count("/") != 1:
            raise WebhookError(400, "the delivery names no repository (repository.full_name)")
        project = name
        raw_number = issue.get("number") if isinstance(issue, dict) else None
        number = raw_number if isinstance(raw_number, int) else None
        raw_action = payload.get("action")
        action = raw_action if isinstance(raw_action, str) else None
    key = ordered.encode(_PREFIX, delivery_id)
    token = kv.lock(_LOCK)
    try:
        if kv.get(key) is not None:
            raise WebhookError(409, f"delivery {delivery_id} was received before (a replay)")
        batch = kv.batch()
        record = {"event": event, "project": project, "received": time.time()}
        batch.set(key, orjson.dumps(record))
        batch.apply(fence=(_LOCK, token))
    finally:
        kv.unlock(_LOCK)
    return Delivery(delivery_id, event, action, project, number)
