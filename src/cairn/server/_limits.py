"""The request-body limit: a body over `ServerConfig.max_body_bytes` gets a 413.

A pure ASGI middleware, because neither Starlette nor uvicorn limits request bodies: a
declared `Content-Length` over the limit is refused before a byte is read; a chunked
body is counted as it arrives and refused once it passes the limit, so the server never
holds more than the limit of one request in memory. WebSockets and lifespan pass through.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised inside the app's `receive` when the body passes the limit. An HTTPException,
    so that FastAPI's body parsing passes it on and its handler answers 413 with it."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB"


class BodyLimit:
    """Refuse HTTP request bodies over `limit` bytes with 413 and a JSON `detail`."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _message(self) -> str:
        return (
            f"request body over the server's limit of {_mib(self.limit)}: send less (a"
            " notebook's outputs may be trimmed: suggestions keep only the head and tail of"
            " each), or start the server with a larger --max-body-mb"
        )

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": self._message()}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self._message())
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:  # the app answered before reading all of it: nothing left to say
                return
            await self._refuse(send)


def _content_length(scope: Scope) -> int | None:
    headers: Any = scope.get("headers", ())
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
