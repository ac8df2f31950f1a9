"""The one suggestion pipeline: a position in a runbook → ranked candidates for the next
cell. `cairn suggest`, `cairn serve` and `cairn eval` all call `next_cells`.

1. Where the cursor is (`_situation`) and what was learned near it: examples found by
   the title and prose, and what usually followed the last command (`Memory`).
2. Candidates (`_candidates`): those examples and sequences adapted to this runbook, the
   runbook's latest cells, and the model's own cell — written with the adapted examples
   in its prompt, so that it copies names that fit.
3. Ranking (`_rank`): the best first, each with a confidence.

A model that fails or times out still leaves the other candidates; `SuggestError` is
raised only when there is no candidate at all.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from ..llm import CanScore, Model
from ..notebook import new_ulid
from ._candidates import Candidate, Candidates, from_examples, from_runbook
from ._rank import THRESHOLD, Ranked, rank
from ._situation import Situation, situation
from ._suggest import Settings, SuggestError, prepare, suggest
from ._types import ContextCell, Example, Suggestion, SuggestResult

if TYPE_CHECKING:
    from ._prompt import Prompt

EXAMPLES = 6  # retrieved by title and prose
SEQUENCES = 6  # learned after a command like the last one
PROMPT_EXAMPLES = 3  # of the adapted examples, shown to the model


class Memory(Protocol):
    """Where learned examples come from (`ExampleIndex`)."""

    def search(self, query: str, *, k: int = 3) -> list[Example]: ...

    def following(self, command: str, *, k: int = 8) -> list[Example]: ...


@dataclass
class Outcome:
    """What the pipeline did for one position."""

    results: list[SuggestResult]  # the best distinct candidates, best first
    ranked: list[Ranked]  # every candidate, best first
    here: Situation
    examples: list[Example] = field(default_factory=list)
    model_text: str | None = None  # the model's own cell (None: no model, or it failed)
    model_failure: SuggestError | None = None  # SuggestTimeout when it ran out of time
    latency_ms: int = 0

    @property
    def model_error(self) -> str | None:
        return None if self.model_failure is None else str(self.model_failure)

    @property
    def confident(self) -> bool:
        return bool(self.results) and self.results[0].confidence >= THRESHOLD


def _language(cells: Sequence[ContextCell], cursor: int) -> str:
    for cell in reversed(cells[:cursor]):
        if cell.kind == "code" and cell.language:
            return cell.language
    return "sh"


def recall(memory: Memory | None, here: Situation) -> tuple[list[Example], list[Example]]:
    """The examples found by title and prose, and those that followed the last command."""
    if memory is None:
        return [], []
    found = memory.search(here.query, k=EXAMPLES) if here.query.strip() else []
    after = memory.following(here.last_command, k=SEQUENCES) if here.last_command else []
    return found, after


def prompt_for(
    model: Model, cells: Sequence[ContextCell], cursor: int, adapted: Sequence[Example]
) -> Prompt:
    """The model's prompt: the runbook up to the cursor, and the first adapted examples
    (`from_examples`). A prefill builds it with this too, to evaluate the same text."""
    return prepare(model, cells, cursor, list(adapted[:PROMPT_EXAMPLES]))


def adapted_examples(here: Situation, found: Sequence[Example]) -> list[Example]:
    """`found` adapted to `here`, as `next_cells` shows them to the model."""
    return from_examples(Candidates(), here, found, "example")


async def next_cells(
    model: Model | None,
    cells: Sequence[ContextCell],
    cursor: int,
    *,
    memory: Memory | None = None,
    n: int = 1,
    settings: Settings | None = None,
    prompt: Prompt | None = None,
    examples: tuple[list[Example], list[Example]] | None = None,
    runbook: bool = True,
    score_with_model: bool = False,
) -> Outcome:
    """Up to `n` distinct suggestions for the cell after `cells[:cursor]`, best first.

    `examples` (found, following) skips `recall` when the caller has them already; a
    `prompt` built by the caller (a prefill) is used as it is; `runbook=False` leaves out
    the runbook's own cells (the eval's baseline: the model alone). Raises SuggestError when
    there is no candidate at all (no memory, and the model failed)."""
    start = time.perf_counter()
    here = situation(cells, cursor)
    found, after = examples if examples is not None else recall(memory, here)
    candidates = Candidates()
    adapted = from_examples(candidates, here, found, "example")
    from_examples(candidates, here, after, "sequence")
    if runbook:
        from_runbook(candidates, here)
    model_text: str | None = None
    model_failure: SuggestError | None = None
    reply = None
    if model is not None:
        prompt = prompt or prompt_for(model, cells, cursor, adapted)
        try:
            one = Settings(n=1) if settings is None else replace(settings, n=1)
            replies = await suggest(model, cells, cursor, settings=one, prompt=prompt)
        except SuggestError as exc:
            model_failure = exc
        else:
            reply = replies[0]
            code = [c for c in reply.cells if c.kind == "code"]
            if code:
                model_text = code[0].source
                candidates.add(model_text, "model")
    if not len(candidates):
        if model_failure is not None:
            raise model_failure
        raise SuggestError("nothing learned yet and no model: nothing to suggest")
    likelihoods = None
    if model is not None and prompt is not None and score_with_model:
        likelihoods = await _likelihoods(model, prompt, candidates.all())
    ranked = rank(candidates.all(), model_text, f"{here.title}\n{here.prose}", likelihoods)
    language = _language(cells, cursor)
    latency = int((time.perf_counter() - start) * 1000)
    name = f"{model.provider}:{model.name}" if model is not None else "memory"
    results = [
        SuggestResult(
            new_ulid(),
            name,
            [Suggestion(new_ulid(), "code", r.candidate.text, language)],
            latency,
            raw=reply.raw if reply is not None and r.candidate.text == model_text else "",
            prompt_tokens=reply.prompt_tokens if reply is not None else 0,
            cached_tokens=reply.cached_tokens if reply is not None else 0,
            source=r.candidate.source,
            sources=tuple(sorted(r.candidate.sources)),
            confidence=r.confidence,
        )
        for r in ranked[: max(1, n)]
    ]
    return Outcome(results, ranked, here, found + after, model_text, model_failure, latency)


async def _likelihoods(
    model: Model, prompt: Prompt, candidates: list[Candidate]
) -> list[float] | None:
    """Each candidate's log-probability as the model's reply (a model that can score
    continuations: the local one); None when it cannot."""
    import asyncio

    if not isinstance(model, CanScore):
        return None
    opening = re.match(r"`{3,}|~{3,}", prompt.prefill)  # the reply closes the prefill's fence
    fence = opening.group() if opening else "```"
    texts = [c.text if c.text.endswith("\n") else c.text + "\n" for c in candidates]
    try:
        values: list[float] = await asyncio.to_thread(
            model.score, prompt.request, [t + fence for t in texts]
        )
    except Exception:  # a model that cannot score: rank without it
        return None
    return values
