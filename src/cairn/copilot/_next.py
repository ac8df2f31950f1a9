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

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ._executions import attach_executions
from ._history import executions_for
from ._pipeline import Memory, Outcome, adapted_examples, next_cells, prompt_for, recall
from ._rank import THRESHOLD
from ._situation import situation
from ._suggest import DEFAULT_TIMEOUT, Settings, SuggestError
from ._types import ContextCell, Example, SuggestResult

if TYPE_CHECKING:
    from ..llm import Model
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
    # The prompt `next_cells` would build itself, built here so that a prefill
    # evaluates exactly this one.
    prompt = prompt_for(model, cells, cursor, adapted_examples(here, found))
    return Prepared(model, cells, cursor, notebook, found, following, prompt, tuple(warnings))


async def suggest_next(
    prepared: Prepared, *, n: int = 1, timeout: float = DEFAULT_TIMEOUT
) -> Suggested:
    """Up to `n` distinct suggestions for the prepared position, best first, each with
    its source and confidence. Raises SuggestError (SuggestTimeout) when there is no
    candidate at all and the model failed (ran out of time)."""
    outcome = await next_cells(
        prepared.model,
        prepared.cells,
        prepared.cursor,
        n=n,
        settings=Settings(n=1, timeout=timeout),
        prompt=prepared.prompt,
        examples=(prepared.found, prepared.following),
    )
    return Suggested(prepared, outcome, outcome.model_failure)


def _left_out(what: str, exc: Exception) -> str:
    message = f"left out {what} ({type(exc).__name__}: {exc})"
    log.warning("suggest: %s", message)
    return message
