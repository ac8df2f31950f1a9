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

from typing import TYPE_CHECKING

from .. import lazy
from ._errors import CopilotError
from ._query import query_text
from ._types import ContextCell, Example, OutputPart, Suggestion, SuggestResult

if TYPE_CHECKING:
    from ._analyze import AnalyzeCounts, Analyzer
    from ._budget import Budget
    from ._cells import cells_from_notebook
    from ._dataset import DatasetError, load_dataset
    from ._eval import (
        EvalError,
        Judge,
        Predict,
        Prediction,
        format_table,
        parse_arms,
        plot,
        run_eval,
    )
    from ._eval import Memory as EvalMemory
    from ._eval import learn as runbook_examples
    from ._examples import ExampleError, ExampleIndex, choose_embedder, recorded_embedder
    from ._executions import attach_executions
    from ._history import executions_for
    from ._judge import JudgeError, llm_judge
    from ._learn import RERUN_WINDOW, LearnCounts, learn_once, run_learning_loop
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
    from ._pipeline import Memory, next_cells
    from ._rank import THRESHOLD
    from ._suggest import SuggestError, SuggestTimeout
    from ._suggest import prepare as prepare_prompt
    from ._suggest_events import accepted_event, accepted_for, generated_event, rejected_for
    from ._traces import ModelStats
    from ._traces import stats as model_stats
    from ._vscode import NotebookFormatError, cells_from_vscode

# name → module, or module:attribute where the face names it differently
_LAZY = {
    "AnalyzeCounts": "._analyze",
    "Analyzer": "._analyze",
    "Budget": "._budget",
    "DatasetError": "._dataset",
    "EvalError": "._eval",
    "EvalMemory": "._eval:Memory",
    "ExampleError": "._examples",
    "ExampleIndex": "._examples",
    "Judge": "._eval",
    "JudgeError": "._judge",
    "LearnCounts": "._learn",
    "ModelStats": "._traces",
    "Predict": "._eval",
    "Prediction": "._eval",
    "RERUN_WINDOW": "._learn",
    "attach_executions": "._executions",
    "choose_embedder": "._examples",
    "executions_for": "._history",
    "format_table": "._eval",
    "learn_once": "._learn",
    "llm_judge": "._judge",
    "load_dataset": "._dataset",
    "model_stats": "._traces:stats",
    "next_cells": "._pipeline",
    "parse_arms": "._eval",
    "plot": "._eval",
    "prepare_prompt": "._suggest:prepare",
    "recorded_embedder": "._examples",
    "run_eval": "._eval",
    "run_learning_loop": "._learn",
    "runbook_examples": "._eval:learn",
    "Memory": "._pipeline",
    "NotebookFormatError": "._vscode",
    "Prepared": "._next",
    "SuggestError": "._suggest",
    "SuggestTimeout": "._suggest",
    "Suggested": "._next",
    "THRESHOLD": "._rank",
    "accepted_event": "._suggest_events",
    "accepted_for": "._suggest_events",
    "rejected_for": "._suggest_events",
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


__getattr__ = lazy.exports(__name__, _LAZY)


__all__ = [
    "RERUN_WINDOW",
    "THRESHOLD",
    "AnalyzeCounts",
    "Analyzer",
    "Budget",
    "ContextCell",
    "CopilotError",
    "DatasetError",
    "EvalError",
    "EvalMemory",
    "Example",
    "ExampleError",
    "ExampleIndex",
    "Judge",
    "JudgeError",
    "LearnCounts",
    "Memory",
    "ModelStats",
    "NotebookFormatError",
    "OutputPart",
    "Predict",
    "Prediction",
    "Prepared",
    "SuggestError",
    "SuggestResult",
    "SuggestTimeout",
    "Suggested",
    "Suggestion",
    "accepted_event",
    "accepted_for",
    "attach_executions",
    "cells_from_notebook",
    "cells_from_vscode",
    "choose_embedder",
    "executions_for",
    "format_table",
    "generated_event",
    "good_enough",
    "learn_once",
    "llm_judge",
    "load_dataset",
    "model_stats",
    "next_cells",
    "not_good_enough",
    "open_memory",
    "parse_arms",
    "plot",
    "prepare_next",
    "prepare_prompt",
    "query_text",
    "recorded_embedder",
    "rejected_for",
    "run_eval",
    "run_learning_loop",
    "runbook_examples",
    "source_name",
    "suggest_next",
]
