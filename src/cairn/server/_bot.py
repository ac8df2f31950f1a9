"""The maintainer bot's routes: `POST /v1/github/webhook`, where GitHub delivers
`issues` and `issue_comment` events.

A delivery is checked by `cairn.bot.accept_webhook` (signature under
`CAIRN_GITHUB_WEBHOOK_SECRET`, once per delivery id, only the events the bot handles)
and, when the server runs the bot (`cairn serve --bot`), triggers a pass of the bot's
pipeline for the delivery's project: sync, docs, related issues, comment fixes, actions.
Answers: 202 accepted, 401 unsigned or badly signed, 400 malformed or an unhandled
event, 409 a replayed delivery, 503 webhooks not configured.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ._errors import ApiError
from ._state import ServerState


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
