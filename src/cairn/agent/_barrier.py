"""Write barriers: what every tool waits on before a side effect.

A call the model really asked for runs with an open barrier. A guessed call runs with a
closed one: it may read, but `await ctx.barrier.wait()` holds it before any write until
the model asks for that exact call (the barrier opens) or the guess is discarded (the
wait raises `BarrierDenied`, or the task is cancelled). Barriers nest: a child waits for
its parent too, so work a tool fans out cannot write before the tool may.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ._errors import BarrierDenied


class WriteBarrier:
    def __init__(self, *, opened: bool = False, parent: WriteBarrier | None = None) -> None:
        self._event = asyncio.Event()
        self._denied: str | None = None
        self.parent = parent
        self.crossed = False  # a wait returned: the holder may have had side effects
        if opened:
            self._event.set()

    @property
    def is_open(self) -> bool:
        return (
            self._event.is_set()
            and self._denied is None
            and (self.parent is None or self.parent.is_open)
        )

    def open(self) -> None:
        self._event.set()

    def deny(self, why: str) -> None:
        self._denied = why
        self._event.set()

    def child(self) -> WriteBarrier:
        return WriteBarrier(parent=self)

    async def wait(self) -> None:
        """Return once side effects are allowed; BarrierDenied if they never will be."""
        if self.parent is not None:
            await self.parent.wait()
        await self._event.wait()
        if self._denied is not None:
            raise BarrierDenied(self._denied)
        self.crossed = True


@dataclass
class ToolContext:
    """What a running tool gets: its write barrier, and whether it runs on a guess."""

    barrier: WriteBarrier
    speculative: bool = False
    notes: dict[str, object] = field(default_factory=dict)
