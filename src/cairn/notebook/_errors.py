"""The notebook package's exception hierarchy."""

from __future__ import annotations

from ..errors import CairnError


class NotebookError(CairnError):
    """Base class: a runbook that cannot be read, parsed or written as asked."""


class NotebookFileError(NotebookError):
    """The file is missing, unreadable, binary or not UTF-8."""


class CellNotFoundError(NotebookError):
    """No cell has the requested name or id."""


class DuplicateNameError(NotebookError):
    """Several cells carry the same explicit name, so a lookup is ambiguous."""


class CellNotRunnableError(NotebookError):
    """The cell is one Runme shows as markup (a mermaid diagram, `transform` false)."""
