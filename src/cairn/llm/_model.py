"""The one model interface every provider implements, and a sync wrapper for the CLI."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
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


_THREAD = threading.local()
_RUNNERS: list[asyncio.Runner] = []


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code (the CLI, `cairn eval`).

    Each thread keeps one event loop across calls, unlike `asyncio.run`: a provider's
    HTTP client is bound to the loop it first ran on, so a second call on a fresh loop
    would find its connections closed ("Event loop is closed")."""
    runner: asyncio.Runner | None = getattr(_THREAD, "runner", None)
    if runner is None:
        runner = _THREAD.runner = asyncio.Runner()
        _RUNNERS.append(runner)
    return runner.run(coro)


@atexit.register
def _close_runners() -> None:
    for runner in _RUNNERS:
        with contextlib.suppress(RuntimeError):  # its loop is running
            runner.close()
    _RUNNERS.clear()
