"""`POST /v1/suggest`: next-cell suggestions, streamed as server-sent events.

The body names a runbook under the server's root (`path`) or carries a VS Code / Runme
notebook (`notebook`, outputs included). The suggestion is `cairn.copilot`'s
`prepare_next` and `suggest_next`, as for `cairn suggest`: candidates from learned
examples, from what usually follows, from the runbook and from the model, ranked, each
with a confidence. The reply is `text/event-stream`:

    event: suggestion  data: {"trace_id", "model", "latency_ms", "examples",
                              "prompt_tokens", "cached_tokens", "source", "sources",
                              "confidence", "confident", "cells": [...]}   best first
    event: done        data: {"confident", "threshold", "found", "message"?,
                              "model_error"?: {"status", "message"}}
    event: error       data: {"status": 502|504, "message": "…"}   no suggestion at all

`confident` says whether a suggestion (in `done`: the best) reaches the threshold a
person should be shown (`threshold`); when the best does not, `done` carries the plain
`message` a client shows instead. `found` may be fewer than the `n` asked for: only
distinct suggestions are sent. A model that fails while other candidates remain is
reported in `done` (`model_error`: 504 when it did not answer in time, else 502); with
no candidate left it ends the stream with an `error` event. Bad requests (unknown file
or cell, cursor past the end) are refused with a 4xx before the stream starts; the
server keeps serving. Every suggestion is logged as `suggestion.generated`, and the
model's calls go through the debug recorder when recording is on.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from .. import learnlog
from ..notebook import NotebookError
from ._bodies import collector_paused, json_response
from ._errors import ApiError
from ._runbooks import etag_of, load_runbook, lookup_cell, resolve_path
from ._sse import Send, event_stream
from ._state import ServerState

if TYPE_CHECKING:
    from ..copilot import ContextCell, Prepared, Suggested, SuggestError, SuggestResult
    from ..llm import LLMConfig, Model
    from ..store import KV

log = logging.getLogger("cairn.server")


class SuggestRequest(BaseModel):
    path: str | None = Field(None, description="A runbook, relative to the server's root.")
    notebook: dict[str, Any] | None = Field(
        None, description="A VS Code / Runme notebook (JSON) instead of a path."
    )
    after: str | None = Field(
        None, description="Suggest after this cell: a name or id (path), or a cell index."
    )
    n: int = Field(1, ge=1, le=5, description="Distinct suggestions to send, at most.")
    model: str | None = Field(
        None,
        description="A model the server offers, by name (default: the server's);"
        " any other name gets 400 with the list.",
    )
    outputs: bool = Field(True, description="Include the outputs of executed cells.")
    timeout: float = Field(60.0, gt=0, le=600, description="Seconds the model may take.")


class AcceptRequest(BaseModel):
    path: str = Field(description="The runbook, relative to the server's root.")
    cursor: int = Field(ge=0, description="Where the cell goes: its index in `cells`.")
    trace_id: str = Field(min_length=1, description="The suggestion's trace id.")
    cell_id: str = Field(min_length=1, max_length=64, description="The suggested cell's id.")
    source: str = Field(max_length=1_000_000)
    language: str = Field("sh", max_length=64)


class RejectRequest(BaseModel):
    trace_id: str = Field(min_length=1)
    cell_ids: list[str] = Field(default_factory=list)
    reason: str = Field("dismissed", max_length=200)


def _cells(state: ServerState, body: SuggestRequest) -> tuple[list[ContextCell], int, Path | None]:
    """The context cells, the cursor and the notebook's file (for outputs and the event)."""
    from ..copilot import cells_from_notebook, cells_from_vscode

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
    return cells, cursor, full


@contextmanager
def _outputs_store(state: ServerState, wanted: bool) -> Iterator[KV | None]:
    """The store that keeps the outputs of executed cells, for one request; None when
    there is none or it cannot be opened (logged: a suggestion without outputs beats
    none)."""
    from ..store import open_store

    url = state.config.store_url()
    if not wanted or url is None or state.config.config_dir is None:
        yield None
        return
    try:
        kv = open_store(url)
    except Exception as exc:
        log.warning("suggest: no outputs (%s: %s)", type(exc).__name__, exc)
        yield None
        return
    try:
        yield kv
    finally:
        kv.close()


def prepare_suggestion(state: ServerState, body: SuggestRequest) -> Prepared:
    """The cells, outputs, examples and prompt of a request; ApiError (4xx) for bad input.
    Blocking (files, the store, the embedder, the tokenizer): call it from a thread. The
    speculative prefill (`_prefill`) builds its prompt here too, so both get the same."""
    from ..copilot import CopilotError, prepare_next

    try:
        with collector_paused():  # the notebook lives only inside: see collector_paused
            cells, cursor, path = _cells(state, body)
    except NotebookError as exc:
        raise ApiError(400, str(exc)) from None
    model = _model(state, body.model)
    config_dir = state.config.config_dir
    with _outputs_store(state, path is not None and body.outputs) as kv:
        try:
            return prepare_next(
                model,
                cells,
                cursor,
                notebook=path,
                store=kv,
                log_dir=None if config_dir is None else config_dir / "logs",
                memory=state.learning,
            )
        except CopilotError as exc:
            raise ApiError(400, str(exc)) from None


def _failure(state: ServerState, exc: SuggestError) -> dict[str, Any]:
    """A model's failure for clients: 504 when it did not answer in time, else 502."""
    from ..copilot import SuggestTimeout

    status = 504 if isinstance(exc, SuggestTimeout) else 502
    return {"status": status, "message": state.public(str(exc))}


def _suggestion(result: SuggestResult, examples: int) -> dict[str, Any]:
    from ..copilot import good_enough

    return {
        "trace_id": result.trace_id,
        "model": result.model,
        "latency_ms": result.latency_ms,
        "examples": examples,
        "prompt_tokens": result.prompt_tokens,
        "cached_tokens": result.cached_tokens,
        "source": result.source,
        "sources": list(result.sources),
        "confidence": round(result.confidence, 4),
        "confident": good_enough(result),
        "cells": [c.__dict__ for c in result.cells],
    }


def _done(state: ServerState, suggested: Suggested) -> dict[str, Any]:
    from ..copilot import THRESHOLD, not_good_enough

    done: dict[str, Any] = {
        "confident": suggested.confident,
        "threshold": THRESHOLD,
        "found": len(suggested.results),
    }
    if not suggested.confident:
        done["message"] = not_good_enough(suggested.results[0])
    if suggested.model_failure is not None:
        done["model_error"] = _failure(state, suggested.model_failure)
    return done


def suggest_routes(router: APIRouter, state: ServerState) -> None:
    @router.post("/suggestions/accept", tags=["copilot"])
    def accept_route(
        body: AcceptRequest,
        if_match: str | None = Header(None, description="The runbook's ETag."),
    ) -> Response:
        """Insert an accepted suggestion's cell (with its id) into the runbook, atomically,
        and log `suggestion.accepted` (a later run of the cell is traced back to it). 409
        when the file changed since its ETag; answers the notebook and its new ETag."""
        from ..copilot import accepted_for
        from ..notebook import insert_code_cell, parse, serialize, to_json, write_atomic

        full = resolve_path(state.root, body.path)
        if not full.is_file():
            raise ApiError(404, f"{body.path}: no such file under the server's root")
        raw = full.read_bytes()
        if if_match is not None and if_match.strip() not in ("*", etag_of(raw)):
            raise ApiError(409, f"{body.path} changed on disk since it was loaded: reload it")
        try:
            nb = parse(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise ApiError(400, f"{body.path} is not UTF-8 text; not editing it") from None
        if body.cursor > len(nb.cells):
            raise ApiError(422, f"cursor {body.cursor}: the runbook has {len(nb.cells)} cells")
        insert_code_cell(nb, body.cursor, body.source, body.language, body.cell_id)
        data = serialize(nb).encode("utf-8")
        try:
            write_atomic(full, data)
        except NotebookError as exc:
            raise ApiError(409, state.public(str(exc))) from None
        learnlog.emit(accepted_for(body.trace_id, body.cell_id), wait=False)
        response = json_response(to_json(nb))
        response.headers["etag"] = etag_of(data)
        return response

    @router.post("/suggestions/reject", status_code=204, tags=["copilot"])
    def reject_route(body: RejectRequest) -> Response:
        """Log `suggestion.rejected` for a dismissed suggestion."""
        from ..copilot import rejected_for

        learnlog.emit(rejected_for(body.trace_id, body.cell_ids, body.reason), wait=False)
        return Response(status_code=204)

    @router.post("/suggest", tags=["copilot"])
    async def suggest_route(body: SuggestRequest, request: Request) -> StreamingResponse:
        """Suggest the next cell(s), streamed as server-sent events (see above)."""
        from ..copilot import SuggestError, generated_event, suggest_next

        prepared = await asyncio.to_thread(prepare_suggestion, state, body)

        async def produce(send: Send) -> None:
            try:
                suggested = await suggest_next(prepared, n=body.n, timeout=body.timeout)
            except SuggestError as exc:
                send("error", _failure(state, exc))
                return
            examples = len(prepared.found) + len(prepared.following)
            for result in suggested.results:
                learnlog.emit(
                    generated_event(
                        result,
                        notebook_path=prepared.notebook,
                        after_cell_id=prepared.after_cell_id,
                    ),
                    wait=False,
                )
                send("suggestion", _suggestion(result, examples))
            send("done", _done(state, suggested))

        return event_stream(produce, request, state, "suggest")


def _model(state: ServerState, requested: str | None, *, kind: str = "suggestion") -> Model:
    """The server's model, or the one the client named among those the server offers:
    its default and the providers configured in cairn.toml and the environment (`cairn
    models list`). Any other name is a 400 that lists the offered ones: a client never
    names a file, a base URL or a model nobody configured."""
    from ..llm import LLMConfig, LLMError, default_spec, load_config
    from ..llm.recorder import open_recorded

    files = state.config_files()
    try:
        config = load_config(files) if files is not None else LLMConfig()
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
        # Recorded unless switched off ([debug] in the server's cairn.toml, CAIRN_RECORD).
        return open_recorded(spec, config, kind=kind)
    except LLMError as exc:
        raise ApiError(400, str(exc)) from None


def _offered(config: LLMConfig, default: str) -> dict[str, str]:
    """The model names a client may ask for, each with the spec it opens."""
    from ..llm import list_models

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
