"""The llm package's exception hierarchy."""

from __future__ import annotations

from ..errors import CairnError


class LLMError(CairnError):
    """Base class: a model call that could not be made or did not succeed."""


class ProviderError(LLMError):
    """The provider answered with an error (after retries, where retrying made sense)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class ProviderUnavailableError(ProviderError):
    """The provider could not be reached (connection refused, timeout, dropped stream)."""


def status_error(where: str, status: int, message: str) -> ProviderError:
    """The error for an HTTP status from a provider; 429 and 5xx (incl. 529) are retryable."""
    retryable = status == 429 or status >= 500
    return ProviderError(
        f"{where} answered {status}: {message}", status=status, retryable=retryable
    )
