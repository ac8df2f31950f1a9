"""The provider-neutral shapes of a model call: request, response, and stream events."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..privacy import default_redactor

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for; `arguments` is the JSON text the model produced."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()  # assistant messages that called tools
    tool_call_id: str | None = None  # tool messages: which call this answers


@dataclass(frozen=True)
class ToolDef:
    """A tool the model may call; `parameters` is a JSON Schema object."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class Options:
    temperature: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None


@dataclass(frozen=True)
class Request:
    messages: tuple[Message, ...]
    tools: tuple[ToolDef, ...] = ()
    options: Options = field(default_factory=Options)


def redacted(request: Request) -> Request:
    """`request` with every secret in its messages redacted (`cairn.privacy`): what each
    provider sends, whoever built the request, so no prompt carries a secret to a model."""
    redactor = default_redactor()
    messages = tuple(
        replace(
            m,
            content=redactor.redact(m.content),
            tool_calls=tuple(
                replace(c, arguments=redactor.redact(c.arguments)) for c in m.tool_calls
            ),
        )
        for m in request.messages
    )
    return replace(request, messages=messages)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "unknown"]


@dataclass(frozen=True)
class Response:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    response_id: str | None = None
    model: str | None = None  # the model that actually answered


@dataclass(frozen=True)
class Embeddings:
    """What `embed()` returns: one vector per input text, in order."""

    vectors: list[list[float]]
    usage: Usage = field(default_factory=Usage)
    model: str | None = None


# -- stream events ----------------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True)
class ToolCallStart:
    index: int
    id: str
    name: str
    type: Literal["tool_call_start"] = "tool_call_start"


@dataclass(frozen=True)
class ToolCallDelta:
    index: int
    arguments: str
    type: Literal["tool_call_delta"] = "tool_call_delta"


@dataclass(frozen=True)
class ToolCallEnd:
    index: int
    call: ToolCall
    type: Literal["tool_call_end"] = "tool_call_end"


@dataclass(frozen=True)
class UsageEvent:
    usage: Usage
    type: Literal["usage"] = "usage"


@dataclass(frozen=True)
class Finish:
    reason: FinishReason
    response_id: str | None = None
    model: str | None = None
    type: Literal["finish"] = "finish"


@dataclass(frozen=True)
class ErrorEvent:
    message: str
    retryable: bool = False
    status: int | None = None
    type: Literal["error"] = "error"


StreamEvent = (
    TextDelta | ToolCallStart | ToolCallDelta | ToolCallEnd | UsageEvent | Finish | ErrorEvent
)


def user(text: str) -> Message:
    return Message("user", text)


def system(text: str) -> Message:
    return Message("system", text)
