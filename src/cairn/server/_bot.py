"""The maintainer bot's routes: `POST /v1/github/webhook`, where GitHub delivers
`issues` and `issue_comment` events.

A delivery is checked by `cairn.bot.accept_webhook` (signature under
`CAIRN_GITHUB_WEBHOOK_SECRET`, once per delivery id, only the events the bot handles)
and, when the server runs the bot (`cairn serve --bot`), triggers a pass of the bot's
pipeline for the delivery's project: sync, docs, related issues, comment fixes, actions.
Answers: 202 accepted, 401 unsigned or badly signed, 400 malformed or an unhandled
event, 409 a replayed delivery, 503 webhooks not configured.

And the action log, with the token like every other route: `GET /v1/bot/actions`
(`?state=pending`), `GET /v1/bot/actions/{id}` (an id prefix will do), and `POST
/v1/bot/actions/{id}/approve` or `/deny` with `{"who": NAME}` — the decider's name is
recorded with the decision.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ._errors import ApiError
from ._state import ServerState

if TYPE_CHECKING:
    from ..bot import BotRunner, BotSettings, PassReport, Pipeline

log = logging.getLogger("cairn.server")


def bot_runner(state: ServerState) -> BotRunner | None:
    """The bot's background runner for `cairn serve --bot` (None without a store): it
    polls every `[bot] every` and runs a pass at once for a webhook's project. The
    pipeline (store connection, tracker, embedder) is built in the runner's thread on
    its first pass, so the server answers at once."""
    from ..bot import BotRunner, bot_settings

    url = state.config.store_url()
    files = state.config_files()
    if url is None or files is None:
        return None
    settings = bot_settings(files)
    built: list[Pipeline] = []

    def run_pass(projects: Sequence[str]) -> PassReport:
        if not built:
            built.append(_pipeline(url, settings, state.config.embedder))
        return built[0].run_pass(projects)

    return BotRunner(run_pass, settings.projects, every_s=settings.every_s)


def _pipeline(url: str, settings: BotSettings, embedder_kind: str | None) -> Pipeline:
    from ..bot import bot_pipeline
    from ..bot.github import GitHub
    from ..llm import open_index_embedder
    from ..store import open_store

    kv = open_store(url)
    embedder, index = open_index_embedder(kv, "docs", embedder_kind)
    tracker = GitHub.open(settings.api)
    return bot_pipeline(kv, tracker, embedder, index, settings)


class Decision(BaseModel):
    """Who decides: recorded with the decision (a name, never "unknown")."""

    who: str = Field(min_length=1, max_length=200)


def _action_json(action: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(action) | {"state": action.state}


def bot_action_routes(router: APIRouter, state: ServerState) -> None:
    """The action log over HTTP (bearer token): list, show, approve, deny."""

    def log() -> Any:
        from ..bot import ActionLog

        kv = state.bot_store()
        if kv is None:
            raise ApiError(503, "this server has no store for the bot (start it with a config dir)")
        return ActionLog(kv)

    def one(action_id: str) -> Any:
        from ..bot import ActionError

        try:
            return log().resolve(action_id)
        except ActionError as exc:
            raise ApiError(404, str(exc)) from None

    @router.get("/bot/actions", tags=["bot"])
    def list_actions(action_state: str | None = Query(None, alias="state")) -> JSONResponse:
        """Every action of the bot's log, oldest first (optionally of one state)."""
        actions = [a for a in log() if action_state is None or a.state == action_state]
        return JSONResponse([_action_json(a) for a in actions])

    @router.get("/bot/actions/{action_id}", tags=["bot"])
    def show_action(action_id: str) -> JSONResponse:
        """One action: its request, diff, decisions and result."""
        return JSONResponse(_action_json(one(action_id)))

    def decide(action_id: str, who: str, approve: bool) -> JSONResponse:
        from ..bot import ActionError

        action = one(action_id)
        try:
            decided = log().decide(action.id, who, approve=approve)
        except ActionError as exc:
            raise ApiError(409, str(exc)) from None
        return JSONResponse(_action_json(decided))

    @router.post("/bot/actions/{action_id}/approve", tags=["bot"])
    def approve_action(action_id: str, body: Decision) -> JSONResponse:
        """Approve an action; it runs at the bot's next pass."""
        return decide(action_id, body.who, True)

    @router.post("/bot/actions/{action_id}/deny", tags=["bot"])
    def deny_action(action_id: str, body: Decision) -> JSONResponse:
        """Deny an action; it never runs."""
        return decide(action_id, body.who, False)


def bot_routes(app: FastAPI, state: ServerState) -> None:
    @app.post("/v1/github/webhook", status_code=202, tags=["bot"])
    async def github_webhook(request: Request) -> JSONResponse:
        """Accept a GitHub webhook delivery (signed; no bearer token)."""
        from ..bot import WebhookError, accept_webhook, webhook_secret

        secret = webhook_secret()
        if secret is None:
            raise ApiError(
                503, "webhooks are not configured: set CAIRN_GITHUB_WEBHOOK_SECRET and restart"
            )
        kv = state.bot_store()
        if kv is None:
            raise ApiError(503, "this server has no store for the bot (start it with a config dir)")
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            delivery = await run_in_threadpool(accept_webhook, kv, secret, headers, body)
        except WebhookError as exc:
            raise ApiError(exc.status, str(exc)) from None
        queued = False
        if delivery.project is not None and state.bot_runner is not None:
            state.bot_runner.trigger(delivery.project)
            queued = True
        return JSONResponse(
            {
                "delivery": delivery.id,
                "event": delivery.event,
                "project": delivery.project,
                "queued": queued,
            },
            status_code=202,
        )
