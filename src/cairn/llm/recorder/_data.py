"""The recorder's data model: a run holds steps (logical model calls), a step holds
attempts (HTTP tries), and statuses only ever move forward.

Every timestamp is an integer of nanoseconds since the Unix epoch, taken from one clock
per process that is anchored to the wall clock once and then advances monotonically, so
durations inside a run are exact and never negative. Records travel as plain dicts
(JSON-ready) between the recorder, the store, `cairn debug` and the exporters.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["in_progress", "interrupted", "error", "completed"]
STATUSES: tuple[Status, ...] = ("in_progress", "interrupted", "error", "completed")
# A status may only be replaced by one of higher priority: a late callback, a sweep or a
# second finisher never moves a record backwards (interrupted → completed is allowed,
# completed → error is not).
PRIORITY: dict[str, int] = {status: rank for rank, status in enumerate(STATUSES)}

RunKind = Literal["prompt", "suggestion", "agent_turn", "bot_job", "check", "other"]
KINDS: tuple[str, ...] = ("prompt", "suggestion", "agent_turn", "bot_job", "check", "other")

# The wall clock is read once; after that time advances with perf_counter_ns.
_WALL_ANCHOR = time.time_ns()
_PERF_ANCHOR = time.perf_counter_ns()


def now_ns() -> int:
    """Nanoseconds since the epoch, monotonic within this process."""
    return _WALL_ANCHOR + (time.perf_counter_ns() - _PERF_ANCHOR)


def supersedes(new: str, old: str) -> bool:
    """True when status `new` may replace `old` (strictly higher priority)."""
    return PRIORITY.get(new, -1) > PRIORITY.get(old, -1)


@dataclass(frozen=True)
class Owner:
    """The process that writes a run; a sweep on the same host can tell it died."""

    host: str
    pid: int

    @staticmethod
    def current() -> Owner:
        return Owner(socket.gethostname(), os.getpid())

    def is_alive(self) -> bool | None:
        """True/False for a process on this host, None when it runs elsewhere."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


@dataclass
class ErrorInfo:
    message: str
    type: str
    provider_status: int | None = None
    retryable: bool = False


@dataclass
class Attempt:
    """One HTTP try of a step: what went over the wire, redacted and capped."""

    run_id: str
    step: int
    seq: int
    method: str
    url: str
    started_ns: int
    status_code: int | None = None
    first_byte_ns: int | None = None  # response headers received
    ended_ns: int | None = None  # response body read (or the try failed)
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    body_bytes: int = 0  # response bytes actually received, before capping
    error: ErrorInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Step:
    """One logical model call (`generate` or `stream`), however many attempts it took."""

    run_id: str
    seq: int
    # `tool` and `speculation`: an agent's tool execution and speculative model call
    # (no HTTP of their own; what happened is in `response`)
    mode: Literal["generate", "stream", "embed", "prefill", "score", "http", "tool", "speculation"]
    provider: str
    request_model: str
    started_ns: int
    status: Status = "in_progress"
    response_model: str | None = None
    request: dict[str, Any] = field(default_factory=dict)  # normalized Request
    response: dict[str, Any] | None = None  # normalized Response
    usage: dict[str, int] = field(default_factory=dict)
    cost_usd: float | None = None  # None: no price known for the model
    finish_reason: str | None = None
    first_byte_ns: int | None = None
    first_token_ns: int | None = None
    ended_ns: int | None = None
    error: ErrorInfo | None = None
    stream: dict[str, int] | None = None  # event counts and text length of a stream
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    attempts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Summary:
    steps: int = 0
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = 0.0  # None once any step's price is unknown
    has_error: bool = False
    bytes: int = 0  # size of the run's records in the store, for retention

    def add_step(self, step: dict[str, Any]) -> None:
        self.steps += 1
        usage = step.get("usage") or {}
        self.input_tokens += int(usage.get("input_tokens", 0))
        self.output_tokens += int(usage.get("output_tokens", 0))
        self.cache_read_tokens += int(usage.get("cache_read_tokens", 0))
        self.cache_write_tokens += int(usage.get("cache_write_tokens", 0))
        cost = step.get("cost_usd")
        if step.get("mode") in ("tool", "speculation"):
            return  # no model call: nothing to price, and a tool's error is the model's input
        if cost is None or self.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += float(cost)
        self.has_error = self.has_error or step.get("status") == "error"


@dataclass
class Run:
    id: str
    kind: str
    started_ns: int
    owner: Owner
    parent_id: str | None = None
    title: str = ""
    status: Status = "in_progress"
    ended_ns: int | None = None
    pinned: bool = False
    attrs: dict[str, str] = field(default_factory=dict)
    summary: Summary = field(default_factory=Summary)
    error: ErrorInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def error_from_dict(data: dict[str, Any] | None) -> ErrorInfo | None:
    return None if data is None else ErrorInfo(**data)


def summary_from_dict(data: dict[str, Any] | None) -> Summary:
    return Summary(**(data or {}))
