"""The former home of context assembly, split into `_cells`, `_vscode`, `_executions`
(the cells a prompt sees) and `_budget`, `_render`, `_window`, `_prompt` (the prompt).
These names stay here only for importers not yet moved to those modules; import from
the new homes."""

from __future__ import annotations

from ._cells import cells_from_notebook
from ._executions import attach_executions
from ._prompt import Prompt
from ._vscode import cells_from_vscode

__all__ = ["Prompt", "attach_executions", "cells_from_notebook", "cells_from_vscode"]
