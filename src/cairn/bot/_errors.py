"""The bot package's exception hierarchy: the base class, and the errors that more than
one of its modules raise (the others sit beside the one module that raises them)."""

from __future__ import annotations

from ..errors import CairnError


class BotError(CairnError):
    """Base class: a sync, job or action of the maintainer bot that cannot go on."""


class TrackerError(BotError):
    """The issue tracker refused or failed a request (the message says what to do)."""


class TrackerAuthError(TrackerError):
    """The tracker answered 401/403/404 for a token or a project: no access."""


class ConfigError(BotError):
    """The `[bot]` table of `cairn.toml` is malformed."""
