"""`POST /v1/suggest`: next-cell suggestions, streamed as server-sent events.

The body names a runbook under the server's root (`path`) or carries a VS Code / Runme
notebook (`notebook`, outputs included). The reply is `text/event-stream`:

    event: text        data: {"text": "…"}                  the reply as it is written
    event: suggestion  data: {"trace_id", "model", "latency_ms", "examples",
                              "prompt_tokens", "cached_tokens", "cells": [...]}
    event: error       data: {"status": 502|504, "message": "…"}   the model failed
    event: done        data: {}

Bad requests (unknown file or cell, cursor past the end) are refused with a 4xx before
the stream starts. A model that fails or times out ends the stream with an `error`
event; the server keeps serving. Every suggestion is logged as `suggestion.generated`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from .. import learnlog
from ..notebook import NotebookError
from ._bodies import collector_paused
from ._errors import ApiError
from ._runbooks import load_runbook, lookup_cell
from ._state import ServerState

if TYPE_CHECKING:
    from ..copilot._context import Prompt
    from ..llm import Model
    from ..llm._config import LLMConfig

log = logging.getLogger("cairn.server")


class SuggestRequest(BaseModel):
    path: str | None = Field(None, description="A runbook, relative to the server's root.")
    notebook: dict[str, Any] | None = Field(
        None, description="A VS Code / Runme notebook (JSON) instead of a path."
    )
    after: str | None = Field(
        None, description="Suggest after this cell: a name or id (path), or a cell index."
    )
    n: int = Field(1, ge=1, le=5, description="Alternatives to generate.")
    model: str | None = Field(
        None,
        description="A model the server offers, by name (default: the server's);"
        " any other name gets 400 with the list.",
    )
    outputs: bool = Field(True, description="Include the outputs of executed cells.")
    timeout: float = Field(60.0, gt=0, le=600, description="Seconds the model may take.")


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _cells(state: ServerState, body: SuggestRequest) -> tuple[list[Any], int, str | None]:
    """The context cells, the cursor and the notebook's path (for the event)."""
    from ..copilot._context import cells_from_notebook, cells_from_vscode

    if (body.path is None) == (body.notebook is None):
        raise ApiError(422, "give exactly one of `path` and `notebook`")
    if body.notebook is not None:
        try:
            cells = cells_from_vscode(body.notebook)
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(422, f"not a notebook: {exc}") from None
        cursor = len(cells)
        if body.after is not None:
            if not body.after.isdigit() or int(body.after) >= len(cells):
                raise ApiError(400, f"after={body.after!r}: give a cell index below {len(cells)}")
            cursor = int(body.after) + 1
        return cells, cursor, None
    assert body.path is not None
    full, nb = load_runbook(state.root, body.path)
    cells = cells_from_notebook(nb)
    cursor = len(cells)
    if body.after is not None:
        cursor = nb.cells.index(lookup_cell(nb, body.after, body.path)) + 1
    return cells, cursor, str(full)


def _with_outputs(state: ServerState, cells: list[Any], path: str) -> list[Any]:
    """The cells with their latest outputs from the learning log (kept up to date in the
    store); the cells as they are when the store fails (logged: a suggestion without
    outputs beats none). Blocking: call it from a worker thread."""
    from ..copilot._context import attach_executions
    from ..copilot._history import executions_for
    from ..store import open_store

    url, config_dir = state.config.store_url(), state.config.config_dir
    if url is None or config_dir is None:
        return cells
    try:
        kv = open_store(url)
        try:
            return attach_executions(cells, executions_for(kv, config_dir / "logs", Path(path)))
        finally:
            kv.close()
    except Exception as exc:
        log.warning("suggest: no outputs (%s: %s)", type(exc).__name__, exc)
        return cells


def _examples(state: ServerState, cells: list[Any], cursor: int) -> list[Any]:
    """Learned examples for this position: none while the embedder loads or when the
    search fails (logged; a suggestion without examples beats none)."""
    from ..copilot import query_text

    if state.learning is None:
        return []
    try:
        return state.learning.examples(query_text(cells, cursor))
    except Exception as exc:
        log.warning("suggest: no examples (%s: %s)", type(exc).__name__, exc)
        return []


@dataclass(frozen=True)
class Prepared:
    """Everything a suggestion needs before the model is called."""

    model: Model
    cells: list[Any]
    cursor: int
    path: str | None  # the runbook's file, for the event (None for a posted notebook)
    examples: list[Any]
    prompt: Prompt


def prepare_suggestion(state: ServerState, body: SuggestRequest) -> Prepared:
    """The cells, outputs, examples and prompt of a request; ApiError (4xx) for bad input.
    Blocking (files, the store, the embedder, the tokenizer): call it from a thread. The
    speculative prefill (`_prefill`) builds its prompt here too, so both get the same."""
    from ..copilot._errors import CopilotError
    from ..copilot._suggest import prepare

    try:
        with collector_paused():  # the notebook lives only inside: see collector_paused
            cells, cursor, path = _cells(state, body)
    except NotebookError as exc:
        raise ApiError(400, str(exc)) from None
    if path is not None and body.outputs:
        cells = _with_outputs(state, cells, path)
    model = _model(state, body.model)
    examples = _examples(state, cells, cursor)
    try:
        prompt = prepare(model, cells, cursor, examples)
    except CopilotError as exc:
        raise ApiError(400, str(exc)) from None
    return Prepared(model, cells, cursor, path, examples, prompt)


def suggest_routes(router: APIRouter, state: ServerState) -> None:
    @router.post("/suggest", tags=["copilot"])
    async def suggest_route(body: SuggestRequest, request: Request) -> StreamingResponse:
        """Suggest the next cell(s), streamed as server-sent events (see above)."""
        from ..copilot._suggest import Settings, SuggestError, suggest
        from ..copilot._suggest_events import generated_event

        ready = await asyncio.to_thread(prepare_suggestion, state, body)
        model, cells, cursor, path = ready.model, ready.cells, ready.cursor, ready.path
        examples, prompt = ready.examples, ready.prompt
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def produce() -> None:
            try:
                results = await suggest(
                    model,
                    cells,
                    cursor,
                    examples=examples,
                    settings=Settings(n=body.n, timeout=body.timeout),
                    on_text=lambda text: queue.put_nowait(_sse("text", {"text": text})),
                    prompt=prompt,
                )
                after_id = cells[cursor - 1].id if cursor > 0 else None
                for result in results:
                    learnlog.emit(
                        generated_event(result, notebook_path=path, after_cell_id=after_id),
                        wait=False,
                    )
                    data = {
                        "trace_id": result.trace_id,
                        "model": result.model,
                        "latency_ms": result.latency_ms,
                        "examples": len(examples),
                        "prompt_tokens": result.prompt_tokens,
                        "cached_tokens": result.cached_tokens,
                        "cells": [c.__dict__ for c in result.cells],
                    }
                    queue.put_nowait(_sse("suggestion", data))
                queue.put_nowait(_sse("done", {}))
            except SuggestError as exc:
                status = 504 if "did not answer" in str(exc) else 502
                message = state.public(str(exc))
                queue.put_nowait(_sse("error", {"status": status, "message": message}))
            except Exception as exc:  # the stream ends cleanly; the server goes on
                log.exception("suggest failed")
                message = state.public(f"{type(exc).__name__}: {exc}")
                queue.put_nowait(_sse("error", {"status": 500, "message": message}))
            finally:
                queue.put_nowait(None)

        async def stream() -> AsyncIterator[bytes]:
            task = asyncio.create_task(produce())
            try:
                while (item := await queue.get()) is not None:
                    yield item
                    if await request.is_disconnected():
                        break
            finally:
                task.cancel()

        return StreamingResponse(stream(), media_type="text/event-stream")


def _model(state: ServerState, requested: str | None) -> Model:
    """The server's model, or the one the client named among those the server offers:
    its default and the providers configured in cairn.toml and the environment (`cairn
    models list`). Any other name is a 400 that lists the offered ones: a client never
    names a file, a base URL or a model nobody configured."""
    from ..llm import LLMError
    from ..llm._config import LLMConfig, default_spec, load_config, open_model

    config_dir = state.config.config_dir
    try:
        config = load_config(config_dir) if config_dir is not None else LLMConfig()
        default = state.config.model or default_spec(config, os.environ)
        spec = default
        if requested is not None:
            offered = _offered(config, default)
            if requested not in offered:
                raise ApiError(
                    400,
                    f"model {requested!r} is not offered by this server; choose one of"
                    f" {', '.join(offered)} (or leave `model` out for {_public_name(default)});"
                    " the server's cairn.toml [llm] tables configure more",
                )
            spec = offered[requested]
        return open_model(spec, config)
    except LLMError as exc:
        raise ApiError(400, str(exc)) from None


def _offered(config: LLMConfig, default: str) -> dict[str, str]:
    """The model names a client may ask for, each with the spec it opens."""
    from ..llm._config import list_models

    specs = [default, *(info.spec for info in list_models(config) if info.configured)]
    offered: dict[str, str] = {}
    for spec in specs:
        offered.setdefault(_public_name(spec), spec)
    return offered


def _public_name(spec: str) -> str:
    """A model's name for clients: a local model file is named by its stem, not its path."""
    provider, _, name = spec.partition(":")
    if provider == "local" and ("/" in name or name.endswith(".gguf")):
        return f"local:{Path(name).stem}"
    return spec
