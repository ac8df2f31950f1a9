"""The server package's exceptions: start-up failures and API errors with a status."""

from __future__ import annotations

from ..errors import CairnError


class ServerError(CairnError):
    """The server cannot start as asked (token file, learning log, address in use…)."""


class ApiError(CairnError):
    """A request the API refuses: an HTTP status and a message the client can act on.

    Over HTTP it becomes `{"detail": message}` with that status; over the execute
    WebSocket an `{"type": "error", ...}` message and close code 4000 + status.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
