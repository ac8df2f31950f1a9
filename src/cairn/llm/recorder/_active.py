"""What is being recorded right now: the active run and step of a call, the context
variables that carry them across awaits, and the interface through which the recording
HTTP transport reports attempts. It depends on neither the recorder nor the transport,
so both can depend on it.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any, Protocol

from .._types import Request, Response
from ._data import Attempt, Run, Step


class AttemptSink(Protocol):
    """Where the recording transport reports each HTTP attempt of a step (the recorder)."""

    def start_attempt(
        self, active: ActiveStep, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> Attempt: ...

    def end_attempt(
        self, active: ActiveStep, attempt: Attempt, body: bytes, content_type: str
    ) -> None: ...


class ActiveRun:
    """A run being recorded: its record and a lock for its step counter and summary."""

    def __init__(self, recorder: object, run: Run, implicit: bool) -> None:
        self.recorder = recorder
        self.run = run
        self.implicit = implicit  # created for one call made outside any run
        self.lock = threading.Lock()
        self.steps = 0
        self.open_steps = 0

    @property
    def id(self) -> str:
        return self.run.id


class ActiveStep:
    """A step being recorded. `finish()` takes effect once; later calls change nothing."""

    def __init__(
        self, recorder: AttemptSink, run: ActiveRun, step: Step, request: Request | dict[str, Any]
    ) -> None:
        self.recorder = recorder
        self.run = run
        self.step = step
        self.request = request
        self.response: Response | dict[str, Any] | None = None
        self.lock = threading.Lock()
        self.done = False

    def first_byte(self, at: int) -> None:
        self.step.first_byte_ns = at  # the last attempt's, i.e. the one that answered


RUN: ContextVar[ActiveRun | None] = ContextVar("cairn_llm_run", default=None)


def current_run_id() -> str | None:
    active = RUN.get()
    return active.id if active is not None else None


# The step whose HTTP requests the transport is recording (set around each SDK call).
CURRENT_STEP: ContextVar[ActiveStep | None] = ContextVar("cairn_llm_step", default=None)

__all__ = ["CURRENT_STEP", "RUN", "ActiveRun", "ActiveStep", "AttemptSink", "current_run_id"]
