"""Speculative tool runs: started on a guess, claimed when the model asks for the same call.

`Speculator.start(guess)` runs a guessed call with a closed write barrier (reads happen,
writes wait). `claim(tool, parsed)` hands over a run of the same tool with the same
canonical arguments, once: its barrier opens and it becomes the real call. A read started
before a write committed on its scope (a newer epoch) is stale and never claimed. At most
`max_running` guesses run at once; whatever is unclaimed is cancelled by `close()`,
which also waits for every task it started, so none outlives the turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._barrier import ToolContext, WriteBarrier
from ._errors import ToolError
from ._tools import Parsed, Tool


@dataclass(frozen=True)
class Guess:
    """A call a predictor expects the model to make; `source` names the predictor."""

    tool: str
    arguments: str | Mapping[str, Any]
    source: str = "rules"


@dataclass
class ToolRun:
    """One execution of a tool, guessed or asked for."""

    tool: Tool
    parsed: Parsed
    task: asyncio.Task[str]
    context: ToolContext
    epoch: int
    source: str  # "model" for a call the model asked for, else the predictor
    started: float = field(default_factory=lambda: asyncio.get_running_loop().time())
    claimed: bool = False
    outcome: str = "running"  # claimed | wasted | stale | cancelled | done

    @property
    def speculative(self) -> bool:
        return self.source != "model"


Record = Callable[[ToolRun], None]


class Epochs:
    """A counter per resource scope, bumped by every committed write on it."""

    def __init__(self) -> None:
        self._epochs: dict[str, int] = {}

    def __getitem__(self, scope: str) -> int:
        return self._epochs.get(scope, 0)

    def bump(self, scope: str) -> None:
        self._epochs[scope] = self[scope] + 1


async def execute(tool: Tool, args: dict[str, Any], context: ToolContext) -> str:
    """Run `tool` within its timeout; ToolError with a message for the model on failure."""
    try:
        async with asyncio.timeout(tool.timeout):
            result = await tool.run(args, context)
    except TimeoutError:
        raise ToolError(f"{tool.name} timed out after {tool.timeout:g} s") from None
    except ToolError:
        raise
    except Exception as exc:  # a tool's own failure is a result for the model
        raise ToolError(f"{tool.name} failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(result, str):
        raise ToolError(f"{tool.name} returned {type(result).__name__}, not text")
    return result


class Speculator:
    def __init__(
        self,
        tools: Mapping[str, Tool],
        epochs: Epochs,
        *,
        max_running: int = 4,
        record: Record | None = None,
    ) -> None:
        self.tools = tools
        self.epochs = epochs
        self.max_running = max_running
        self.record = record
        self.runs: list[ToolRun] = []
        self.peak_running = 0

    def running(self) -> int:
        return sum(1 for r in self.runs if r.speculative and not r.claimed and not r.task.done())

    def start(self, guess: Guess) -> ToolRun | None:
        """Start a guessed call; None when it is not a known tool, its arguments do not
        parse, the same call already runs, or the cap on running guesses is reached."""
        tool = self.tools.get(guess.tool)
        if tool is None:
            return None
        try:
            parsed = tool.parse(guess.arguments)
        except ToolError:
            return None  # a guess that fails to parse never matches
        if any(self._matches(r, tool, parsed) for r in self.runs):
            return None
        if self.running() >= self.max_running:
            return None
        context = ToolContext(WriteBarrier(), speculative=True)
        task = asyncio.ensure_future(execute(tool, parsed.args, context))
        run = ToolRun(tool, parsed, task, context, self.epochs[tool.scope], guess.source)
        self.runs.append(run)
        self.peak_running = max(self.peak_running, self.running())
        return run

    def _matches(self, run: ToolRun, tool: Tool, parsed: Parsed) -> bool:
        return not run.claimed and run.tool.name == tool.name and run.parsed.key == parsed.key

    def claim(self, tool: Tool, parsed: Parsed) -> ToolRun | None:
        """The unclaimed, fresh guess of exactly this call (its barrier stays closed until
        the caller opens it), or None."""
        for run in self.runs:
            if not self._matches(run, tool, parsed) or run.outcome != "running":
                continue
            if run.epoch != self.epochs[tool.scope]:
                self.discard(run, "stale")
                continue
            if run.task.done() and (run.task.cancelled() or run.task.exception() is not None):
                self.discard(run, "wasted")  # a failed guess: the real call runs afresh
                continue
            run.claimed, run.outcome = True, "claimed"
            run.context.speculative = False
            return run
        return None

    def discard(self, run: ToolRun, outcome: str) -> None:
        """Give up a run: its barrier never opens, its task is cancelled."""
        run.outcome = outcome
        run.context.barrier.deny("the guessed call was not asked for")
        if not run.task.done():
            run.task.cancel()
        if self.record is not None:
            self.record(run)

    async def close(self) -> None:
        """Cancel every unclaimed guess and wait until all of them have stopped."""
        for run in self.runs:
            if not run.claimed and run.outcome == "running":
                self.discard(run, "wasted" if run.task.done() else "cancelled")
        tasks = [r.task for r in self.runs]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
