"""The next-cell use case, as `cairn suggest` and `POST /v1/suggest` both call it.

A runbook's cells and a cursor, with what its cells printed (the learning log, kept up
to date in a store) and what was learned (a `Memory`), become a prompt (`prepare_next`;
the server's prefill evaluates the same prompt ahead of time) and then ranked, distinct
suggestions with a confidence each (`suggest_next`, over `_pipeline.next_cells`).

Outputs or examples that cannot be read are left out with a warning, never fatal: a
suggestion without them beats none. A model that fails leaves the other candidates;
when there are none, `SuggestError` (`SuggestTimeout` when the model ran out of time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._candidates import Candidates, from_examples
from ._executions import attach_executions
from ._history import executions_for
from ._pipeline import PROMPT_EXAMPLES, Memory, Outcome, next_cells, recall
from ._rank import THRESHOLD
from ._situation import situation
from ._suggest import DEFAULT_TIMEOUT, Settings, SuggestError, SuggestTimeout, prepare
from ._types import ContextCell, Example, SuggestResult

if TYPE_CHECKING:
    from ..llm import Model, Request, Response, StreamEvent
    from ..store import KV
    from ._examples import ExampleIndex
    from ._prompt import Prompt

log = logging.getLogger(__name__)

# How each candidate source is named to a person.
SOURCE_NAMES = {
    "example": "a learned example",
    "sequence": "what usually follows",
    "runbook": "an earlier cell of this runbook",
    "model": "the model",
}


@dataclass(frozen=True)
class Prepared:
    """Everything a suggestion needs before the model is called."""

    model: Model
    cells: list[ContextCell]  # with the outputs of their latest runs
    cursor: int
    notebook: Path | None  # the runbook's file (None: a notebook posted as JSON)
    found: list[Example]  # learned examples found by the title and prose
    following: list[Example]  # learned after a command like the last one
    prompt: Prompt
    warnings: tuple[str, ...] = ()  # what was left out, and why

    @property
    def after_cell_id(self) -> str | None:
        return self.cells[self.cursor - 1].id if self.cursor > 0 else None


@dataclass(frozen=True)
class Suggested:
    """The ranked suggestions for a position, and what became of the model's own try."""

    prepared: Prepared
    outcome: Outcome
    model_failure: SuggestError | None  # SuggestTimeout when it ran out of time

    @property
    def results(self) -> list[SuggestResult]:
        """The distinct suggestions, best first (as many as asked for, or fewer)."""
        return self.outcome.results

    @property
    def confident(self) -> bool:
        """Whether the best is good enough to show a person (`THRESHOLD`)."""
        return self.outcome.confident


def good_enough(result: SuggestResult) -> bool:
    """Whether a suggestion's confidence reaches the threshold for showing it."""
    return result.confidence >= THRESHOLD


def source_name(source: str) -> str:
    return SOURCE_NAMES.get(source, source)


def not_good_enough(result: SuggestResult) -> str:
    """The plain message for a best suggestion below the threshold."""
    return (
        f"no suggestion good enough: the best, from {source_name(result.source)},"
        f" has confidence {result.confidence:.2f} (a suggestion needs {THRESHOLD:.2f})"
    )


def open_memory(kv: KV, embedder: str | None = None) -> ExampleIndex | None:
    """The examples learned in `kv`, or None when nothing was learned there (then no
    embedding model is loaded)."""
    from ._examples import ExampleIndex, choose_embedder, recorded_embedder

    if recorded_embedder(kv) is None:
        return None
    return ExampleIndex(kv, choose_embedder(kv, embedder))


def prepare_next(
    model: Model,
    cells: Sequence[ContextCell],
    cursor: int,
    *,
    notebook: Path | None = None,
    store: KV | None = None,
    log_dir: Path | None = None,
    memory: Memory | None = None,
) -> Prepared:
    """The cells with their outputs (when `notebook`, `store` and `log_dir` are given),
    the examples recalled from `memory`, and the prompt of the suggestion after
    `cells[:cursor]`. Blocking (the store, the embedder, the tokenizer). Raises
    SuggestError for a cursor outside the cells, ContextError for a budget too small."""
    if not 0 <= cursor <= len(cells):
        raise SuggestError(f"cursor {cursor} is outside the notebook (0..{len(cells)})")
    warnings: list[str] = []
    cells = list(cells)
    if notebook is not None and store is not None and log_dir is not None:
        try:
            cells = attach_executions(cells, executions_for(store, log_dir, notebook))
        except Exception as exc:  # see the module docstring
            warnings.append(_left_out("the outputs of executed cells", exc))
    here = situation(cells, cursor)
    found: list[Example] = []
    following: list[Example] = []
    try:
        found, following = recall(memory, here)
    except Exception as exc:
        warnings.append(_left_out("learned examples", exc))
    # The prompt `next_cells` would build itself (the adapted examples it shows the
    # model), built here so that a prefill evaluates exactly this one.
    adapted = from_examples(Candidates(), here, found, "example")
    prompt = prepare(model, cells, cursor, adapted[:PROMPT_EXAMPLES])
    return Prepared(model, cells, cursor, notebook, found, following, prompt, tuple(warnings))


async def suggest_next(
    prepared: Prepared, *, n: int = 1, timeout: float = DEFAULT_TIMEOUT
) -> Suggested:
    """Up to `n` distinct suggestions for the prepared position, best first, each with
    its source and confidence. Raises SuggestError (SuggestTimeout) when there is no
    candidate at all and the model failed (ran out of time)."""
    watched = _Watched(prepared.model)
    try:
        outcome = await next_cells(
            watched,
            prepared.cells,
            prepared.cursor,
            n=n,
            settings=Settings(n=1, timeout=timeout),
            prompt=prepared.prompt,
            examples=(prepared.found, prepared.following),
        )
    except SuggestError as exc:
        raise _typed(str(exc), watched.cut_off) from None
    failure = None if outcome.model_error is None else _typed(outcome.model_error, watched.cut_off)
    return Suggested(prepared, outcome, failure)


def _typed(message: str, cut_off: bool) -> SuggestError:
    return SuggestTimeout(message) if cut_off else SuggestError(message)


def _left_out(what: str, exc: Exception) -> str:
    message = f"left out {what} ({type(exc).__name__}: {exc})"
    log.warning("suggest: %s", message)
    return message


class _Watched:
    """The model, noting whether a reply was cut off while streaming (the timeout
    cancels it). `next_cells` keeps only the text of the model's failure, and a timeout
    must reach the front ends as `SuggestTimeout`, not as a message to match."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner
        self.provider = inner.provider
        self.name = inner.name
        self.cut_off = False

    async def generate(self, request: Request) -> Response:
        return await self.inner.generate(request)

    async def stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        try:
            async for event in self.inner.stream(request):
                yield event
        except asyncio.CancelledError:
            self.cut_off = True
            raise

    def __getattr__(self, name: str) -> Any:  # prefill, score, n_ctx of a local model
        return getattr(self.inner, name)
