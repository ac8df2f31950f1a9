"""The copilot: next-cell suggestions from a notebook with its outputs, learning from
what people ran, and an evaluation of both.

- `_next`: the suggestion use case the CLI and the server call (`prepare_next`,
  `suggest_next`), over the pipeline (`_pipeline`: `_situation`, `_candidates`,
  `_adapt`, `_rank`)
- `_cells`, `_vscode`, `_executions`: a runbook, a VS Code / Runme document and the
  learning log's outputs → the cells a prompt sees (UI metadata dropped)
- `_budget`, `_render`, `_window`, `_prompt`: those cells and learned examples → the
  prompt (token budgets, outputs shortened, the cells nearest the cursor first)
- `_suggest`: the model's reply → suggested cells; `_suggest_events`: `suggestion.*`
  learning events
- `_logscan`: reading the learning log fast from a stored offset
- `_analyze` (`_traces`, `_edits`), `_learn`, `_examples`: learning log → traces →
  examples → retrieval
- `_metrics`, `_dataset`, `_eval`: the offline evaluation (`cairn eval`)

The names of the suggestion use case are imported on first use: the pipeline pulls in
the model layer, which commands that only read the store do not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import CopilotError
from ._query import query_text
from ._types import ContextCell, Example, OutputPart, Suggestion, SuggestResult

if TYPE_CHECKING:
    from ._cells import cells_from_notebook
    from ._next import (
        Prepared,
        Suggested,
        good_enough,
        not_good_enough,
        open_memory,
        prepare_next,
        source_name,
        suggest_next,
    )
    from ._pipeline import Memory
    from ._rank import THRESHOLD
    from ._suggest import SuggestError, SuggestTimeout
    from ._suggest_events import accepted_event, generated_event
    from ._vscode import NotebookFormatError, cells_from_vscode

_LAZY = {
    "Memory": "._pipeline",
    "NotebookFormatError": "._vscode",
    "Prepared": "._next",
    "SuggestError": "._suggest",
    "SuggestTimeout": "._suggest",
    "Suggested": "._next",
    "THRESHOLD": "._rank",
    "accepted_event": "._suggest_events",
    "cells_from_notebook": "._cells",
    "cells_from_vscode": "._vscode",
    "generated_event": "._suggest_events",
    "good_enough": "._next",
    "not_good_enough": "._next",
    "open_memory": "._next",
    "prepare_next": "._next",
    "source_name": "._next",
    "suggest_next": "._next",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "THRESHOLD",
    "ContextCell",
    "CopilotError",
    "Example",
    "Memory",
    "NotebookFormatError",
    "OutputPart",
    "Prepared",
    "SuggestError",
    "SuggestResult",
    "SuggestTimeout",
    "Suggested",
    "Suggestion",
    "accepted_event",
    "cells_from_notebook",
    "cells_from_vscode",
    "generated_event",
    "good_enough",
    "not_good_enough",
    "open_memory",
    "prepare_next",
    "query_text",
    "source_name",
    "suggest_next",
]
