"""The learning events of suggestions: one mapping, used by `cairn suggest` and the
server alike, so both log the same thing."""

from __future__ import annotations

from pathlib import Path

from ..learnlog import SuggestedCell, SuggestionAccepted, SuggestionGenerated, SuggestionRejected
from ._types import SuggestResult


def generated_event(
    result: SuggestResult, *, notebook_path: Path | str | None, after_cell_id: str | None
) -> SuggestionGenerated:
    path = None if notebook_path is None else str(Path(notebook_path).resolve())
    return SuggestionGenerated(
        trace_id=result.trace_id,
        model=result.model,
        notebook_path=path,
        after_cell_id=after_cell_id,
        cells=[
            SuggestedCell(id=c.id, kind=c.kind, language=c.language, source=c.source)
            for c in result.cells
        ],
        latency_ms=result.latency_ms,
        source=result.source,
        sources=list(result.sources),
        confidence=round(result.confidence, 4),
    )


def accepted_event(result: SuggestResult, cell_id: str) -> SuggestionAccepted:
    return accepted_for(result.trace_id, cell_id)


def accepted_for(trace_id: str, cell_id: str) -> SuggestionAccepted:
    """The event of a suggestion accepted by a client that holds only its trace id."""
    return SuggestionAccepted(trace_id=trace_id, cell_id=cell_id)


def rejected_for(trace_id: str, cell_ids: list[str], reason: str) -> SuggestionRejected:
    return SuggestionRejected(trace_id=trace_id, cell_ids=list(cell_ids), reason=reason)
