"""A scripted chat model for the agent's tests: what it streams depends only on the
request (so a turn's transcript can be compared with speculation on and off), and each
event comes at a scripted time on the event loop's clock."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from cairn.llm import (
    Finish,
    Request,
    Response,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEnd,
    ToolCallStart,
    Usage,
    UsageEvent,
)


@dataclass(frozen=True)
class Step:
    """One model call: the calls it makes (name, arguments JSON, seconds until its
    arguments are complete) or, with none, an answer; then `tail` seconds to finish."""

    calls: tuple[tuple[str, str, float], ...] = ()
    answer_seconds: float = 0.0
    first_token: float = 0.0


@dataclass
class ScriptedModel:
    steps: Sequence[Step]
    provider: str = "scripted"
    name: str = "scripted"
    asked: list[tuple[float, str, str]] = field(default_factory=list)  # (time, tool, args)
    requests: int = 0
    on_call_end: Callable[[ToolCall], None] | None = None

    async def generate(self, request: Request) -> Response:
        raise NotImplementedError

    async def stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        self.requests += 1
        loop = asyncio.get_running_loop()
        n = sum(1 for m in request.messages if m.role == "assistant")
        step = self.steps[n] if n < len(self.steps) else Step()
        at = 0.0
        if step.first_token:
            await asyncio.sleep(step.first_token)
            at = step.first_token
        for i, (name, args, done) in enumerate(sorted(step.calls, key=lambda c: c[2])):
            call = ToolCall(f"call_{n}_{i}", name, args)
            yield ToolCallStart(i, call.id, name)
            if done > at:
                await asyncio.sleep(done - at)
                at = done
            self.asked.append((loop.time(), name, args))
            yield ToolCallEnd(i, call)
        if not step.calls:
            # the answer depends on everything the model was told
            digest = hashlib.sha256(
                "|".join(f"{m.role}:{m.content}" for m in request.messages).encode()
            ).hexdigest()[:12]
            words = ["The", " answer", " is", f" {digest}."]
            for word in words:
                await asyncio.sleep(step.answer_seconds / len(words))
                yield TextDelta(word)
        yield UsageEvent(Usage(input_tokens=10, output_tokens=5))
        yield Finish("tool_calls" if step.calls else "stop")
