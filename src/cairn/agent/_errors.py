"""The agent's exceptions: one hierarchy, each message something a user can act on."""

from __future__ import annotations

from ..errors import CairnError


class AgentError(CairnError):
    """Base of the agent's errors."""


class ToolError(AgentError):
    """A tool call that cannot be made or failed; its message goes to the model."""


class BudgetExceeded(AgentError):
    """A turn ran out of steps, time or cost."""


class BarrierDenied(AgentError):
    """A write barrier that will never open: the call was denied or discarded."""
