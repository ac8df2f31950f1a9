"""The kernel package's exception hierarchy."""

from __future__ import annotations

from ..errors import CairnError


class KernelError(CairnError):
    """Base class: a cell that cannot be started or run as asked."""


class UnknownLanguageError(KernelError):
    """No program is known for the cell's language."""


class ProgramNotFoundError(KernelError):
    """The program a cell needs is not installed (not on PATH)."""
