"""The notebook package's exception hierarchy."""

from __future__ import annotations


class NotebookError(Exception):
    """Base class: a runbook that cannot be read, parsed or written as asked."""


class NotebookFileError(NotebookError):
    """The file is missing, unreadable, binary or not UTF-8."""


class UnterminatedFenceError(NotebookError):
    """A code fence is opened and never closed."""


class CellNotFoundError(NotebookError):
    """No cell has the requested name or id."""


class DuplicateNameError(NotebookError):
    """Several cells carry the same explicit name, so a lookup is ambiguous."""
