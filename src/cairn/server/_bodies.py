"""JSON off the event loop: request bodies parsed and validated in a worker thread, and
responses encoded in the thread that built them.

FastAPI decodes and validates a body on the event loop before the endpoint runs (a
64 MiB notebook: seconds, during which no other request is served), and encodes a sync
endpoint's return value there too. `ThreadedBodyRoute` reads the body, then validates it
with pydantic's own JSON parser in a thread and hands FastAPI the finished model, which it
takes as it is; errors become FastAPI's 422. `json_response` encodes a value where it is
called, so a sync endpoint (run in a thread) returns bytes ready to send.

pydantic's parser and encoder hold the GIL while they work, so a huge body still pauses
the loop, but for a fraction of the time (bench/server.py measures it).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


def json_response(value: Any, status_code: int = 200) -> Response:
    """`value` (dicts, lists, pydantic models, dates…) encoded as JSON now."""
    return Response(_ANY.dump_json(value), status_code, media_type="application/json")


class _ValidatedRequest(Request):
    """A request whose JSON body has been validated already: `json()` gives the model."""

    validated: BaseModel | None = None

    async def json(self) -> Any:
        if self.validated is not None:
            return self.validated
        return await super().json()


class ThreadedBodyRoute(APIRoute):
    """An APIRoute whose JSON body (one pydantic model) is validated in a worker thread."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        field_info = getattr(self.body_field, "field_info", None)
        model = getattr(field_info, "annotation", None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return handler
        body_model: type[BaseModel] = model

        async def threaded(request: Request) -> Response:
            own = _ValidatedRequest(request.scope, request.receive)
            raw = await own.body()
            if raw and _is_json(own.headers.get("content-type", "")):
                try:
                    own.validated = await asyncio.to_thread(_validate, body_model, raw)
                except ValidationError as exc:
                    errors = exc.errors(include_url=False)
                    for error in errors:
                        error["loc"] = ("body", *error["loc"])
                        if error["type"] == "json_invalid":
                            error["input"] = {}  # as FastAPI says it: not the body back
                    raise RequestValidationError(errors) from None
            return await handler(own)

        return threaded


def _validate(model: type[BaseModel], raw: bytes) -> BaseModel:
    with collector_paused():
        return model.model_validate_json(raw)


_paused = 0
_paused_lock = threading.Lock()
_was_enabled = True


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection while a worker thread builds and uses something big: a body
    pydantic parses, a runbook's notebook. Collections run in whichever thread allocates
    and hold the GIL: with hundreds of thousands of new objects alive, each full
    collection stops every other thread (the event loop too) for 100+ ms, again and
    again as they pile up. Notebooks and bodies are acyclic, so reference counting frees
    them when the work is done, and the collector, enabled again, never has to scan them.
    """
    global _paused, _was_enabled
    with _paused_lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


def _is_json(content_type: str) -> bool:
    kind = content_type.partition(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )
