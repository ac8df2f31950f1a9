"""Server-sent event streams, as `/v1/suggest` and `/v1/ask` answer: what a route's
producer sends (`send(event, data)`) goes out as `text/event-stream`, in order. A
producer's unexpected failure ends the stream with one `error` event (500, logged); a
client that goes away cancels the producer, and nothing outlives the response."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from ._state import ServerState

log = logging.getLogger("cairn.server")
Send = Callable[[str, dict[str, Any]], None]


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def event_stream(
    produce: Callable[[Send], Awaitable[None]],
    request: Request,
    state: ServerState,
    what: str,
    *,
    on_close: Callable[[], None] | None = None,
) -> StreamingResponse:
    """The response streaming what `produce` sends; `on_close` runs once it is over."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def send(event: str, data: dict[str, Any]) -> None:
        queue.put_nowait(sse(event, data))

    async def run() -> None:
        try:
            await produce(send)
        except Exception as exc:  # the stream ends cleanly; the server goes on
            log.exception("%s failed", what)
            message = state.public(f"{type(exc).__name__}: {exc}")
            send("error", {"status": 500, "message": message})
        finally:
            queue.put_nowait(None)

    async def stream() -> AsyncIterator[bytes]:
        task = asyncio.create_task(run())
        try:
            while (item := await queue.get()) is not None:
                yield item
                if await request.is_disconnected():
                    break
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if on_close is not None:
                on_close()

    return StreamingResponse(stream(), media_type="text/event-stream")
