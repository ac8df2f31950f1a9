"""Claude models through the official `anthropic` SDK and the Messages API.

System messages become the top-level `system` parameter, tool results travel as
`tool_result` blocks in a user message, and `max_tokens` (required by the API) defaults
to 1024. Retries (429, 5xx, 529 overloaded; honouring Retry-After) are the SDK's own.
The SDK is imported lazily.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Self

from ._errors import ProviderError, ProviderUnavailableError, status_error
from ._types import (
    ErrorEvent,
    Finish,
    FinishReason,
    Message,
    Request,
    Response,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    Usage,
    UsageEvent,
    redacted,
)

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

DEFAULT_MAX_TOKENS = 1024

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _tool_input(call: ToolCall) -> Any:
    try:
        return json.loads(call.arguments or "{}")
    except ValueError as exc:
        raise ProviderError(f"tool call {call.name!r} has invalid JSON arguments: {exc}") from None


def _messages(messages: tuple[Message, ...]) -> tuple[str, list[dict[str, Any]]]:
    """The `system` text and the Messages API `messages` list for our messages."""
    system_parts: list[str] = []
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            system_parts.append(m.content)
        elif m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content}
            # Results answering one assistant turn must share one user message.
            previous = out[-1] if out else None
            if previous and previous["role"] == "user" and isinstance(previous["content"], list):
                previous["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif m.role == "assistant" and m.tool_calls:
            blocks: list[dict[str, Any]] = []
            if m.content:
                blocks.append({"type": "text", "text": m.content})
            blocks.extend(
                {"type": "tool_use", "id": c.id, "name": c.name, "input": _tool_input(c)}
                for c in m.tool_calls
            )
            out.append({"role": "assistant", "content": blocks})
        else:
            out.append({"role": m.role, "content": m.content})
    return "\n\n".join(system_parts), out


def _usage(raw: Any, base: Usage | None = None) -> Usage:
    """Usage from a response or stream event; fields the event lacks keep `base`'s value."""
    base = base or Usage()
    if raw is None:
        return base

    def get(field: str, default: int) -> int:
        value = getattr(raw, field, None)
        return default if value is None else int(value)

    return Usage(
        input_tokens=get("input_tokens", base.input_tokens),
        output_tokens=get("output_tokens", base.output_tokens),
        cache_read_tokens=get("cache_read_input_tokens", base.cache_read_tokens),
        cache_write_tokens=get("cache_creation_input_tokens", base.cache_write_tokens),
    )


class AnthropicModel:
    """A Claude model behind the Anthropic Messages API."""

    provider = "anthropic"

    def __init__(
        self,
        name: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int = 3,
        timeout: float = 60.0,
        # An async `httpx2` client for the SDK (the recorder passes one with a
        # recording transport), as for OpenAIModel.
        http_client: Any = None,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self._api_key = api_key or os.environ.get("ANTHROPIC_API_KEY") or "not-needed"
        self._max_retries = max_retries
        self._timeout = timeout
        self._http_client = http_client
        self._client: AsyncAnthropic | None = None

    def _sdk(self) -> AsyncAnthropic:
        if self._client is None:
            from anthropic import AsyncAnthropic

            self._client = AsyncAnthropic(
                api_key=self._api_key,
                base_url=self.base_url,
                max_retries=self._max_retries,
                timeout=self._timeout,
                http_client=self._http_client,
            )
        return self._client

    def _params(self, request: Request) -> dict[str, Any]:
        system_text, messages = _messages(redacted(request).messages)
        o = request.options
        params: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            "max_tokens": o.max_tokens if o.max_tokens is not None else DEFAULT_MAX_TOKENS,
        }
        if system_text:
            params["system"] = system_text
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        if o.stop:
            params["stop_sequences"] = list(o.stop)
        # The Messages API (anthropic SDK 2.x) takes neither temperature nor seed, and
        # rejects unknown fields, so Options.temperature and Options.seed are dropped.
        return params

    def _error(self, exc: Exception) -> ProviderError:
        import anthropic

        where = self.base_url or "the Anthropic API"
        if isinstance(exc, anthropic.APIConnectionError):  # includes timeouts
            return ProviderUnavailableError(f"cannot reach {where}: {exc}", retryable=True)
        if isinstance(exc, anthropic.APIStatusError):
            return status_error(where, exc.status_code, exc.message)
        return ProviderError(f"{where}: {exc}")

    async def generate(self, request: Request) -> Response:
        import anthropic

        try:
            message = await self._sdk().messages.create(**self._params(request))
        except anthropic.AnthropicError as exc:
            raise self._error(exc) from None
        text: list[str] = []
        calls: list[ToolCall] = []
        for block in message.content:
            if block.type == "text":
                text.append(block.text)
            elif block.type == "tool_use":
                calls.append(ToolCall(block.id, block.name, json.dumps(block.input)))
        return Response(
            text="".join(text),
            tool_calls=tuple(calls),
            finish_reason=_FINISH.get(message.stop_reason or "", "unknown"),
            usage=_usage(message.usage),
            response_id=message.id,
            model=message.model,
        )

    async def stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        import anthropic
        import httpx2

        where = self.base_url or "the Anthropic API"
        state = _StreamState()
        try:
            stream = await self._sdk().messages.create(**self._params(request), stream=True)
            async with stream:
                async for event in stream:
                    for out in state.on(event):
                        yield out
        except anthropic.AnthropicError as exc:
            error = self._error(exc)
            yield ErrorEvent(str(error), retryable=error.retryable, status=error.status)
            return
        except httpx2.TransportError as exc:
            # The SDK wraps errors before the response starts, not while reading it.
            yield ErrorEvent(f"connection to {where} dropped mid-stream: {exc}", retryable=True)
            return
        if not state.stopped:
            yield ErrorEvent(f"{where} ended the stream before message_stop", retryable=True)
            return
        yield Finish(state.finish, response_id=state.response_id, model=state.model)

    def with_http_client(self, http_client: Any) -> Self:
        """A copy of this model whose SDK client sends through `http_client` (an
        `httpx2.AsyncClient`; the debug recorder's has a recording transport)."""
        clone = copy.copy(self)
        clone._http_client, clone._client = http_client, None
        return clone

    @property
    def secret_values(self) -> tuple[str, ...]:
        """The API key, so recorders can redact it wherever it shows up."""
        return () if self._api_key == "not-needed" else (self._api_key,)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


class _StreamState:
    """Turns Messages API stream events into ours, remembering what a Finish needs."""

    def __init__(self) -> None:
        self.calls: dict[int, list[str]] = {}  # content block index -> [id, name, arguments]
        self.ordinal: dict[int, int] = {}  # content block index -> tool call index
        self.usage = Usage()
        self.finish: FinishReason = "unknown"
        self.response_id: str | None = None
        self.model: str | None = None
        self.stopped = False

    def on(self, event: Any) -> list[StreamEvent]:
        kind, index = event.type, getattr(event, "index", -1)
        if kind == "message_start":
            self.response_id, self.model = event.message.id, event.message.model
            self.usage = _usage(event.message.usage)
        elif kind == "content_block_start" and event.content_block.type == "tool_use":
            block = event.content_block
            self.ordinal[index] = len(self.ordinal)
            self.calls[index] = [block.id, block.name, ""]
            return [ToolCallStart(self.ordinal[index], block.id, block.name)]
        elif kind == "content_block_delta":
            delta = event.delta
            if delta.type == "text_delta" and delta.text:
                return [TextDelta(delta.text)]
            if delta.type == "input_json_delta" and index in self.calls and delta.partial_json:
                self.calls[index][2] += delta.partial_json
                return [ToolCallDelta(self.ordinal[index], delta.partial_json)]
        elif kind == "content_block_stop" and index in self.calls:
            call_id, name, arguments = self.calls.pop(index)
            # A tool without parameters streams no JSON at all.
            return [ToolCallEnd(self.ordinal[index], ToolCall(call_id, name, arguments or "{}"))]
        elif kind == "message_delta":
            self.finish = _FINISH.get(event.delta.stop_reason or "", "unknown")
            self.usage = _usage(event.usage, self.usage)
            return [UsageEvent(self.usage)]
        elif kind == "message_stop":
            self.stopped = True
        return []
