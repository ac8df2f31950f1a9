"""The request-body limit: a body over `ServerConfig.max_body_bytes` gets a 413.

A pure ASGI middleware, because neither Starlette nor uvicorn limits request bodies: a
declared `Content-Length` over the limit is refused before a byte is read; a chunked
body is counted as it arrives and refused once it passes the limit, so the server never
holds more than the limit of one request in memory. WebSockets and lifespan pass through.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Refuse HTTP request bodies over `limit` bytes with 413 and a JSON `detail`."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.message = (
            f"request body over the server's limit of {limit / (1 << 20):g} MiB: send less"
            " (a notebook's outputs may be trimmed: suggestions keep only the head and tail"
            " of each), or start the server with a larger --max-body-mb"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            refusal = JSONResponse({"detail": self.message}, 413, {"connection": "close"})
            await refusal(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # An HTTPException: FastAPI's body parsing passes it on, and the app's
                    # handler answers it as a 413 with this detail.
                    raise HTTPException(413, self.message)
            return message

        await self.app(scope, counted, send)
