"""The kernel package's exception hierarchy."""

from __future__ import annotations


class KernelError(Exception):
    """Base class: a cell that cannot be started or run as asked."""


class UnknownLanguageError(KernelError):
    """No program is known for the cell's language."""


class ProgramNotFoundError(KernelError):
    """The program a cell needs is not installed (not on PATH)."""
