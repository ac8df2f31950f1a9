"""Optional model abilities, each an explicit interface beside `Model`.

A provider has some of them (the local model prefills and scores, OpenAI-compatible
models embed, remote SDK models take an HTTP client and hold secrets); callers check
with `isinstance(model, CanScore)` instead of probing attributes, and the debug
recorder's `RecordingModel` has exactly the abilities of the model it wraps, recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, Self, runtime_checkable

from ._types import Embeddings, Request


@runtime_checkable
class CanPrefill(Protocol):
    """Evaluates a request's prompt ahead of time (a KV-cache warm-up); returns the
    number of prompt tokens it evaluated."""

    def prefill(self, request: Request) -> int: ...


@runtime_checkable
class CanScore(Protocol):
    """Each continuation's log-probability as the reply to the request (blocking)."""

    def score(self, request: Request, continuations: Sequence[str]) -> list[float]: ...


@runtime_checkable
class CanEmbed(Protocol):
    """Embeddings of texts from the provider's embeddings endpoint."""

    async def embed(self, texts: Sequence[str]) -> Embeddings: ...


@runtime_checkable
class CanSwapHttpClient(Protocol):
    """A copy of the model whose SDK sends its requests through `http_client`."""

    def with_http_client(self, http_client: Any) -> Self: ...


@runtime_checkable
class HasSecrets(Protocol):
    """Values (API keys) a recorder must redact wherever they show up."""

    @property
    def secret_values(self) -> tuple[str, ...]: ...


@runtime_checkable
class HasContextWindow(Protocol):
    """A model with a fixed context window of `n_ctx` tokens."""

    n_ctx: int


@runtime_checkable
class CanClose(Protocol):
    """A model holding connections, closed by `aclose()`."""

    async def aclose(self) -> None: ...


__all__ = [
    "CanClose",
    "CanEmbed",
    "CanPrefill",
    "CanScore",
    "CanSwapHttpClient",
    "HasContextWindow",
    "HasSecrets",
]
