"""The copilot package's exception hierarchy."""

from __future__ import annotations


class CopilotError(Exception):
    """Base class: a suggestion, learning or evaluation step that cannot go on."""
