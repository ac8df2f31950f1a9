"""The copilot: next-cell suggestions from a notebook with its outputs, learning from
what people ran, and an evaluation of both.

- `_cells`, `_vscode`, `_executions`: a runbook, a VS Code / Runme document and the
  learning log's outputs → the cells a prompt sees (UI metadata dropped)
- `_budget`, `_render`, `_window`, `_prompt`: those cells and learned examples → the
  prompt (token budgets, outputs shortened, the cells nearest the cursor first)
- `_suggest`: the model's reply → suggested cells; `suggestion.*` learning events
- `_logscan`: reading the learning log fast from a stored offset
- `_analyze` (`_traces`, `_edits`), `_learn`, `_examples`: learning log → traces →
  examples → retrieval
- `_metrics`, `_dataset`, `_eval`: the offline evaluation (`cairn eval`)
"""

from __future__ import annotations

from ._query import query_text
from ._types import ContextCell, Example, OutputPart, Suggestion, SuggestResult

__all__ = ["ContextCell", "Example", "OutputPart", "SuggestResult", "Suggestion", "query_text"]
