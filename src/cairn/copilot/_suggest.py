"""Suggestions: a notebook position → a prompt → the model's reply → suggested cells.

Post-processing follows Foyle: the reply (with the prompt's prefill in front) is parsed
as Markdown into cells; prose before the first code cell is kept, everything after the
first code cell is dropped, and empty cells are dropped. A reply without a code cell is
no suggestion. Every suggestion is logged as `suggestion.generated` (trace id, model,
cells with their new ids, latency); accepting one logs `suggestion.accepted`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..llm import (
    ErrorEvent,
    HasContextWindow,
    LLMError,
    Model,
    Options,
    Request,
    TextDelta,
    Usage,
    UsageEvent,
    run_sync,
)
from ..notebook import new_ulid
from ._errors import CopilotError
from ._types import ContextCell, Example, Suggestion, SuggestResult

if TYPE_CHECKING:
    from ._budget import Budget
    from ._prompt import Prompt
    from ._tokens import Tokenizer

DEFAULT_TIMEOUT = 60.0


# Degenerate repetition, as small models fall into it: a stretch repeated 5+ times in a
# row (`--skip-skip-skip-…`), or one word 6+ times in a row (`python3 python3 …`).
_REPEATED = re.compile(r"(.{2,40}?)\1{4,}", re.DOTALL)
_REPEATED_WORD = re.compile(r"(\S+)(?:\s+\1){5,}")


def degenerate(text: str) -> bool:
    """Whether `text` holds degenerate repetition (see above)."""
    return bool(_REPEATED.search(text) or _REPEATED_WORD.search(text))


def cut_repetition(text: str) -> str:
    """`text` up to where degenerate repetition starts, with one copy of what repeats."""
    cuts = [
        m.start() + len(m.group(1))
        for m in (_REPEATED.search(text), _REPEATED_WORD.search(text))
        if m is not None
    ]
    return text[: min(cuts)] if cuts else text


class SuggestError(CopilotError):
    """No usable suggestion: the model failed, timed out or answered without a cell."""


class SuggestTimeout(SuggestError):
    """The model did not answer within the time it was given."""


def parse_reply(text: str, *, prefill: str = "", language: str = "sh") -> list[Suggestion]:
    """The suggested cells in a reply (see the module docstring for the rules)."""
    from ..notebook import parse

    document = prefill + text
    if document.count("```") % 2 == 1:
        document += "\n```\n"  # the model stopped inside a fence (a stop sequence, a limit)
    cells: list[Suggestion] = []
    for cell in parse(document).cells:
        source = cell.source.strip("\n")
        if not source.strip():
            continue
        if cell.kind == "code":
            cells.append(Suggestion(new_ulid(), "code", source + "\n", cell.language or language))
            break
        cells.append(Suggestion(new_ulid(), "markup", source.strip() + "\n"))
    if not any(c.kind == "code" for c in cells):
        return []
    return cells


def style_for(model: Model) -> Literal["chat", "completion"]:
    """Base models continue a document; chat models answer a conversation."""
    return "completion" if model.provider == "local" else "chat"


@dataclass(frozen=True)
class Settings:
    n: int = 1
    timeout: float = DEFAULT_TIMEOUT
    max_tokens: int = 160


def default_budget(model: Model) -> Budget:
    """The prompt budget for `model`. The local model decodes ~80 tokens/s on two cores,
    so its reply is capped at 128 tokens (a runbook cell rarely needs more; a reply cut
    short still parses); its context window is its `n_ctx`."""
    from ._budget import Budget

    if model.provider == "local":
        total = model.n_ctx if isinstance(model, HasContextWindow) else 2048
        return Budget(total=int(total), reply=128)
    return Budget()


def prepare(
    model: Model,
    cells: Sequence[ContextCell],
    cursor: int,
    examples: Sequence[Example] = (),
    *,
    tokenizer: Tokenizer | None = None,
    budget: Budget | None = None,
) -> Prompt:
    """The prompt for a suggestion after `cells[:cursor]`."""
    from ._prompt import build_prompt
    from ._tokens import tokenizer_for

    if not 0 <= cursor <= len(cells):
        raise SuggestError(f"cursor {cursor} is outside the notebook (0..{len(cells)})")
    return build_prompt(
        cells,
        cursor,
        examples=examples,
        tokenizer=tokenizer or tokenizer_for(model.provider, model.name),
        budget=budget or default_budget(model),
        style=style_for(model),
    )


async def _one(
    model: Model,
    request: Request,
    prefill: str,
    language: str,
    timeout: float,
    on_text: Callable[[str], None] | None,
) -> tuple[str, list[Suggestion], Usage]:
    pieces: list[str] = []
    usage = Usage()

    async def read() -> None:
        nonlocal usage
        async for event in model.stream(request):
            if isinstance(event, TextDelta):
                pieces.append(event.text)
                if on_text is not None:
                    on_text(event.text)
                if len(pieces) % 8 == 0 and degenerate("".join(pieces)):
                    return  # the repetition guard: stop decoding, keep one copy (below)
            elif isinstance(event, UsageEvent):
                usage = event.usage
            elif isinstance(event, ErrorEvent):
                raise SuggestError(f"{model.provider}:{model.name}: {event.message}")

    try:
        await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        raise SuggestTimeout(
            f"{model.provider}:{model.name} did not answer within {timeout:g}s"
        ) from None
    except LLMError as exc:
        raise SuggestError(str(exc)) from None
    raw = "".join(pieces)
    return raw, parse_reply(cut_repetition(raw), prefill=prefill, language=language), usage


def _language(cells: Sequence[ContextCell], cursor: int) -> str:
    for cell in reversed(cells[:cursor]):
        if cell.kind == "code" and cell.language:
            return cell.language
    return "sh"


async def suggest(
    model: Model,
    cells: Sequence[ContextCell],
    cursor: int,
    *,
    examples: Sequence[Example] = (),
    settings: Settings | None = None,
    on_text: Callable[[str], None] | None = None,
    prompt: Prompt | None = None,
) -> list[SuggestResult]:
    """`settings.n` alternative suggestions (the first greedy, the others sampled).
    Raises SuggestError when no alternative has a code cell."""
    settings = settings or Settings()
    prompt = prompt or prepare(model, cells, cursor, examples)
    language = _language(cells, cursor)
    results: list[SuggestResult] = []
    for i in range(max(1, settings.n)):
        options = prompt.request.options
        request = Request(
            prompt.request.messages,
            options=Options(
                temperature=0.0 if i == 0 else 0.8,
                max_tokens=options.max_tokens or settings.max_tokens,
                stop=options.stop,
                seed=i,
            ),
        )
        start = time.perf_counter()
        stream_to = on_text if i == 0 else None  # alternatives are shown when complete
        raw, suggested, usage = await _one(
            model, request, prompt.prefill, language, settings.timeout, stream_to
        )
        latency = int((time.perf_counter() - start) * 1000)
        if suggested:
            results.append(
                SuggestResult(
                    new_ulid(),
                    f"{model.provider}:{model.name}",
                    suggested,
                    latency,
                    raw,
                    prompt_tokens=usage.input_tokens,
                    cached_tokens=usage.cache_read_tokens,
                )
            )
    if not results:
        raise SuggestError(
            f"{model.provider}:{model.name} answered without a code cell; nothing to suggest"
        )
    return results


def predict_cell(model: Model, context: Sequence[ContextCell], examples: Sequence[Example]) -> str:
    """The code the model suggests after `context` ("" when it suggests none): what
    `cairn eval` compares with the expected cell."""
    try:
        results = run_sync(suggest(model, context, len(context), examples=examples))
    except SuggestError:
        return ""
    code = [c for c in results[0].cells if c.kind == "code"]
    return code[0].source if code else ""
