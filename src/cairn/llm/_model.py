"""The one model interface every provider implements, and a sync wrapper for the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any, Protocol, TypeVar, runtime_checkable

from ._types import Request, Response, StreamEvent

T = TypeVar("T")


@runtime_checkable
class Model(Protocol):
    """A chat model. `provider` and `name` identify it (e.g. "openai", "gpt-4o-mini")."""

    provider: str
    name: str

    async def generate(self, request: Request) -> Response:
        """The whole response; raises ProviderError/ProviderUnavailableError."""
        ...

    def stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        """Typed events as they arrive; cancelling the iteration closes the connection."""
        ...


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion from synchronous code (the CLI)."""
    return asyncio.run(coro)
