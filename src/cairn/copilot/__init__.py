"""The copilot: next-cell suggestions from a notebook with its outputs, learning from
what people ran, and an evaluation of both.

- `_context`: notebook → prompt (outputs included, UI metadata dropped, token budgets)
- `_suggest`: the model's reply → suggested cells; `suggestion.*` learning events
- `_analyze`, `_learn`, `_examples`: learning log → traces → examples → retrieval
- `_metrics`, `_dataset`, `_eval`: the offline evaluation (`cairn eval`)
"""

from __future__ import annotations

from ._query import query_text
from ._types import ContextCell, Example, OutputPart, Suggestion, SuggestResult

__all__ = ["ContextCell", "Example", "OutputPart", "SuggestResult", "Suggestion", "query_text"]
