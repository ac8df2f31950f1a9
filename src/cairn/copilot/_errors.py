"""The copilot package's exception hierarchy: the base class, and the errors that more
than one of its modules raise (the others sit beside the one module that raises them)."""

from __future__ import annotations

from ..errors import CairnError


class CopilotError(CairnError):
    """Base class: a suggestion, learning or evaluation step that cannot go on."""


class ContextError(CopilotError):
    """The prompt cannot be built: a budget too small for even the instructions."""


class AnalyzeError(CopilotError):
    """The analyzer's state in the store cannot be used."""
