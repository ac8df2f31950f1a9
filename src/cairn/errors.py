"""The one exception base of Cairn.

Every package's base exception (`StoreError`, `NotebookError`, `KernelError`,
`LearningLogError`, `IndexingError`, `LLMError`, `CopilotError`, `ServerError`, …)
derives from `CairnError`, so a front end needs one `except CairnError` to turn any
failure Cairn knows into one actionable line. This module sits below every layer and
imports nothing: importing it costs nothing at start-up.
"""

from __future__ import annotations


class CairnError(Exception):
    """A failure Cairn knows and can explain in one line (its message says what to do)."""


__all__ = ["CairnError"]
