"""The agent loop, with speculation that is never visible.

A turn: model call (streamed) → the tool calls it asks for (in parallel) → their results
→ the next model call, until an answer or a budget ends it. Three kinds of speculation
cut its latency, none of which can change what the user sees or what gets written:

- predicted calls start when the message arrives (`predictors`), and calls start from
  the model's stream as soon as their arguments are complete (`eager`): a guessed run
  reads freely and waits at its write barrier; the real call claims it (`Speculator`);
- when every call of an iteration has a result or a guessed one
  (`Tool.speculative_result`), the next model call starts on them, buffered: nothing of
  it is shown or executed until the real results are in and equal the guesses (then it
  is adopted, as if asked then); otherwise it is cancelled and its tokens are counted as
  wasted.

Caller-facing events carry no trace of speculation; the `Tracer` gets the records (every
tool execution with speculative, claimed or wasted, duration and error; every
speculative model call with its outcome). No task outlives the turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..llm import (
    ErrorEvent,
    Message,
    Model,
    Request,
    TextDelta,
    ToolCall,
    ToolCallEnd,
    UsageEvent,
)
from ._barrier import ToolContext, WriteBarrier
from ._errors import AgentError, BarrierDenied, ToolError
from ._predict import Predictor
from ._speculate import Epochs, Guess, Speculator, ToolRun, execute
from ._tools import Parsed, Tool


@dataclass(frozen=True)
class AgentOptions:
    parallel: bool = True  # an iteration's calls run together
    eager: bool = True  # start a call as soon as the stream completes its arguments
    predict: bool = True  # start predicted calls when the message arrives
    speculate_results: bool = True  # start the next model call on guessed results
    max_steps: int = 8
    max_seconds: float = 300.0
    max_tokens: int | None = None  # input + output tokens of the turn's model calls (cost)
    max_repeats: int = 2  # the same call asked more often in a turn is refused
    max_speculative: int = 4  # guessed runs at once
    max_result_chars: int = 100_000
    needs_approval: frozenset[str] = frozenset({"write", "external"})


SEQUENTIAL = AgentOptions(parallel=False, eager=False, predict=False, speculate_results=False)


@dataclass(frozen=True)
class Text:
    text: str
    type: str = "text"


@dataclass(frozen=True)
class ToolStarted:
    id: str
    name: str
    arguments: str
    type: str = "tool_started"


@dataclass(frozen=True)
class ToolFinished:
    id: str
    name: str
    result: str
    error: bool = False
    type: str = "tool_finished"


@dataclass(frozen=True)
class Answer:
    text: str
    messages: tuple[Message, ...]
    steps: int
    stopped: str | None = None  # why a budget ended the turn early
    type: str = "answer"


AgentEvent = Text | ToolStarted | ToolFinished | Answer
Approve = Callable[[ToolCall, Tool], Awaitable[bool]]


class Tracer(Protocol):
    def tool(self, record: dict[str, Any]) -> None: ...

    def speculation(self, record: dict[str, Any]) -> None: ...


class _NoTracer:
    def tool(self, record: dict[str, Any]) -> None:
        pass

    def speculation(self, record: dict[str, Any]) -> None:
        pass


@dataclass
class Stats:
    """What a turn's speculation did (also in the tracer's records)."""

    claimed: int = 0
    wasted_runs: int = 0
    adopted: int = 0
    discarded: int = 0
    wasted_tokens: int = 0
    peak_speculative: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)


class _ModelCall:
    """A streamed model call pumped into a queue: read live, or buffered and read later."""

    def __init__(self, model: Model, request: Request) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.output_tokens = 0
        self.input_tokens = 0
        self.events = 0
        self.started = _now()
        self.task = asyncio.ensure_future(self._pump(model, request))

    async def _pump(self, model: Model, request: Request) -> None:
        try:
            async for event in model.stream(request):
                self.events += 1
                if isinstance(event, UsageEvent):
                    self.output_tokens = event.usage.output_tokens
                    self.input_tokens = event.usage.input_tokens
                self.queue.put_nowait(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the provider's error, for the turn to report
            self.queue.put_nowait(ErrorEvent(f"{type(exc).__name__}: {exc}"))
        finally:
            self.queue.put_nowait(None)

    async def cancel(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


class Agent:
    """A model, its tools and predictors; `run(messages)` streams one turn's events."""

    def __init__(
        self,
        model: Model,
        tools: Sequence[Tool],
        *,
        predictors: Sequence[Predictor] = (),
        options: AgentOptions | None = None,
        approve: Approve | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.model = model
        self.tools: Mapping[str, Tool] = {t.name: t for t in tools}
        self.predictors = list(predictors)
        self.options = options or AgentOptions()
        self.approve = approve
        self.tracer: Tracer = tracer or _NoTracer()
        self.stats = Stats()

    async def run(self, messages: Sequence[Message]) -> AsyncIterator[AgentEvent]:
        """One turn over `messages` (the last is the user's); ends with an `Answer`."""
        out: asyncio.Queue[AgentEvent | BaseException | None] = asyncio.Queue()
        task = asyncio.ensure_future(self._turn(list(messages), out.put_nowait))
        try:
            while True:
                item = await out.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # -- the turn ----------------------------------------------------------------------------

    async def _turn(self, messages: list[Message], emit: Callable[[Any], None]) -> None:
        self.stats = Stats()
        epochs = Epochs()
        spec = Speculator(
            self.tools, epochs, max_running=self.options.max_speculative, record=self._record
        )
        repeats: dict[tuple[str, str], int] = {}
        pending: _ModelCall | None = None
        live: _ModelCall | None = None
        spent = 0
        try:
            if self.options.predict and messages and messages[-1].role == "user":
                for predictor in self.predictors:
                    for guess in predictor.predict(messages[-1].content):
                        spec.start(guess)
            async with asyncio.timeout(self.options.max_seconds):
                for step in range(1, self.options.max_steps + 1):
                    live = pending or _ModelCall(self.model, self._request(messages))
                    pending = None
                    text, calls = await self._consume(live, spec, emit)
                    spent += live.input_tokens + live.output_tokens
                    budget = self.options.max_tokens
                    if calls and budget is not None and spent >= budget:
                        messages.append(Message("assistant", text, tool_calls=tuple(calls)))
                        why = f"the turn used its token budget ({spent:,} of {budget:,} tokens)"
                        emit(Answer(text, tuple(messages), step, why))
                        return
                    if not calls:
                        messages.append(Message("assistant", text))
                        emit(Answer(text, tuple(messages), step))
                        return
                    messages.append(Message("assistant", text, tool_calls=tuple(calls)))
                    pending = await self._iteration(calls, messages, spec, epochs, repeats, emit)
                emit(
                    Answer(
                        "",
                        tuple(messages),
                        self.options.max_steps,
                        f"the turn used all of its {self.options.max_steps} steps",
                    )
                )
        except TimeoutError:
            emit(
                Answer(
                    "",
                    tuple(messages),
                    0,
                    f"the turn ran out of time ({self.options.max_seconds:g} s)",
                )
            )
        except AgentError as exc:
            emit(exc)
        except Exception as exc:
            emit(exc)
        finally:
            for call in (live, pending):
                if call is not None:
                    await call.cancel()
            await spec.close()
            self.stats.peak_speculative = spec.peak_running
            emit(None)

    def _request(self, messages: Sequence[Message]) -> Request:
        return Request(tuple(messages), tuple(t.definition() for t in self.tools.values()))

    async def _consume(
        self, call: _ModelCall, spec: Speculator, emit: Callable[[Any], None]
    ) -> tuple[str, list[ToolCall]]:
        """Read a model call live: text to the caller, tool calls collected (and started
        at once when eager)."""
        text: list[str] = []
        calls: list[ToolCall] = []
        while (event := await call.queue.get()) is not None:
            if isinstance(event, TextDelta):
                text.append(event.text)
                emit(Text(event.text))
            elif isinstance(event, ToolCallEnd):
                calls.append(event.call)
                if self.options.eager:
                    spec.start(Guess(event.call.name, event.call.arguments, "stream"))
            elif isinstance(event, ErrorEvent):
                raise AgentError(f"the model failed: {event.message}")
        return "".join(text), calls

    async def _iteration(
        self,
        calls: list[ToolCall],
        messages: list[Message],
        spec: Speculator,
        epochs: Epochs,
        repeats: dict[tuple[str, str], int],
        emit: Callable[[Any], None],
    ) -> _ModelCall | None:
        """Run an iteration's calls and append their results; returns the next model call
        when one started on guessed results and the guesses held."""
        for c in calls:
            emit(ToolStarted(c.id, c.name, c.arguments))
        futures: list[asyncio.Future[tuple[str, bool]]] = []
        if self.options.parallel:
            futures = [
                asyncio.ensure_future(self._call(c, spec, epochs, repeats, emit)) for c in calls
            ]
        guessed = self._guesses(calls, futures) if self.options.speculate_results else None
        ahead: _ModelCall | None = None
        if guessed is not None:
            ahead = _ModelCall(self.model, self._request(messages + _tool_messages(calls, guessed)))
        try:
            if self.options.parallel:
                results = list(await asyncio.gather(*futures))
            else:
                results = [await self._call(c, spec, epochs, repeats, emit) for c in calls]
        except BaseException:
            for f in futures:
                f.cancel()
            await asyncio.gather(*futures, return_exceptions=True)
            if ahead is not None:
                await ahead.cancel()
            raise
        messages.extend(_tool_messages(calls, results))
        if ahead is None:
            return None
        adopted = results == guessed
        if not adopted:
            await ahead.cancel()
            self.stats.discarded += 1
            self.stats.wasted_tokens += ahead.output_tokens
        else:
            self.stats.adopted += 1
        record = {
            "kind": "speculative_model_call",
            "outcome": "adopted" if adopted else "discarded",
            "wasted_tokens": 0 if adopted else ahead.output_tokens,
            "events_buffered": ahead.queue.qsize(),
            "started": ahead.started,
            "seconds": round(_now() - ahead.started, 6),
        }
        self.stats.records.append(record)
        self.tracer.speculation(record)
        return ahead if adopted else None

    def _guesses(
        self, calls: list[ToolCall], futures: list[asyncio.Future[tuple[str, bool]]]
    ) -> list[tuple[str, bool]] | None:
        """A result for every call, real or guessed, with at least one guessed; else None."""
        out, guessed = [], False
        for call, future in zip(calls, futures, strict=True):
            if future.done() and not future.cancelled() and future.exception() is None:
                out.append(future.result())
                continue
            tool = self.tools.get(call.name)
            if tool is None or tool.speculative_result is None:
                return None
            try:
                guess = tool.speculative_result(tool.parse(call.arguments).args)
            except ToolError:
                return None
            if guess is None:
                return None
            out.append((self._clip(guess), False))
            guessed = True
        return out if guessed else None

    async def _call(
        self,
        call: ToolCall,
        spec: Speculator,
        epochs: Epochs,
        repeats: dict[tuple[str, str], int],
        emit: Callable[[Any], None],
    ) -> tuple[str, bool]:
        """The result of one call the model asked for: (text, is_error)."""
        result, error = await self._result(call, spec, epochs, repeats)
        emit(ToolFinished(call.id, call.name, result, error))
        return result, error

    async def _result(
        self,
        call: ToolCall,
        spec: Speculator,
        epochs: Epochs,
        repeats: dict[tuple[str, str], int],
    ) -> tuple[str, bool]:
        tool = self.tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "none"
            return f"error: there is no tool {call.name!r} (the tools are: {known})", True
        try:
            parsed = tool.parse(call.arguments)
        except ToolError as exc:
            return f"error: {exc}", True
        seen = repeats[(tool.name, parsed.key)] = repeats.get((tool.name, parsed.key), 0) + 1
        if seen > self.options.max_repeats:
            return (
                f"error: {tool.name} was already called {seen - 1} times with these arguments"
                " in this turn; use those results",
                True,
            )
        claimed = spec.claim(tool, parsed)
        if tool.effect in self.options.needs_approval:
            allowed = self.approve is not None and await self.approve(call, tool)
            if not allowed:
                if claimed is not None:
                    spec.discard(claimed, "wasted")
                why = "the user denied it" if self.approve else "it needs approval"
                return f"error: {tool.name} was not run: {why}", True
        try:
            return self._clip(await self._execute(tool, parsed, claimed, epochs)), False
        except ToolError as exc:
            return f"error: {exc}", True

    async def _execute(
        self, tool: Tool, parsed: Parsed, claimed: ToolRun | None, epochs: Epochs
    ) -> str:
        if claimed is not None:
            self.stats.claimed += 1
            claimed.context.barrier.open()
            try:
                result = await claimed.task
            except asyncio.CancelledError:
                if _cancelling():
                    raise  # the turn itself ends
                error = f"{tool.name} was interrupted"
            except (ToolError, BarrierDenied) as exc:
                error = str(exc)
            else:
                self._record(claimed)
                if tool.effect != "read":
                    epochs.bump(tool.scope)
                return result
            # Claimed, the run is the real call: its failure is the call's result. (A
            # guess that failed before it was claimed is never claimed: the real call
            # runs afresh, so a speculative failure never reaches the transcript.)
            self._record(claimed, error=error)
            if tool.effect != "read" and claimed.context.barrier.crossed:
                epochs.bump(tool.scope)
            raise ToolError(error)
        context = ToolContext(WriteBarrier(opened=True))
        started = _now()
        try:
            result = await execute(tool, parsed.args, context)
        except ToolError as exc:
            self._trace(tool, parsed, "model", "done", started, str(exc))
            if context.barrier.crossed and tool.effect != "read":
                epochs.bump(tool.scope)
            raise
        self._trace(tool, parsed, "model", "done", started, None)
        if tool.effect != "read":
            epochs.bump(tool.scope)
        return result

    def _clip(self, result: str) -> str:
        limit = self.options.max_result_chars
        if len(result) <= limit:
            return result
        return result[:limit] + f"\n[truncated: the result had {len(result):,} characters]"

    # -- records ------------------------------------------------------------------------------

    def _record(self, run: ToolRun, error: str | None = None) -> None:
        if run.outcome in ("wasted", "stale", "cancelled"):
            self.stats.wasted_runs += 1
        self._trace(run.tool, run.parsed, run.source, run.outcome, run.started, error)

    def _trace(
        self,
        tool: Tool,
        parsed: Parsed,
        source: str,
        outcome: str,
        started: float,
        error: str | None,
    ) -> None:
        record = {
            "kind": "tool",
            "tool": tool.name,
            "arguments": parsed.key,
            "speculative": source != "model",
            "source": source,
            "outcome": outcome,
            "started": started,
            "seconds": round(_now() - started, 6),
            "error": error,
        }
        self.stats.records.append(record)
        self.tracer.tool(record)


def _now() -> float:
    """The event loop's clock (a virtual one in the property tests)."""
    return asyncio.get_running_loop().time()


def _cancelling() -> bool:
    task = asyncio.current_task()
    return bool(task is not None and task.cancelling())


def _tool_messages(calls: Sequence[ToolCall], results: Sequence[tuple[str, bool]]) -> list[Message]:
    return [
        Message("tool", content, tool_call_id=call.id)
        for call, (content, _error) in zip(calls, results, strict=True)
    ]


__all__ = [
    "SEQUENTIAL",
    "Agent",
    "AgentEvent",
    "AgentOptions",
    "Answer",
    "Approve",
    "Stats",
    "Text",
    "ToolFinished",
    "ToolStarted",
    "Tracer",
]
