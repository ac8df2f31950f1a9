"""OpenAI-compatible chat models through the official `openai` SDK.

`base_url` makes the same provider talk to Ollama, vLLM, LM Studio or a llama.cpp
server. Retries (429, 5xx, timeouts; exponential backoff with jitter, honouring
Retry-After) are the SDK's own, so every retry is a real HTTP attempt that a recording
transport can see. The SDK is imported lazily: it costs ~350 ms.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Self

import orjson

from ..privacy import default_redactor
from ._errors import ProviderError, ProviderUnavailableError, status_error
from ._types import (
    Embeddings,
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
    from openai import AsyncOpenAI

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def _message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    return out


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    details = getattr(raw, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", 0) if details is not None else 0
    return Usage(
        input_tokens=int(getattr(raw, "prompt_tokens", 0) or 0),
        output_tokens=int(getattr(raw, "completion_tokens", 0) or 0),
        cache_read_tokens=int(cached or 0),
    )


class OpenAIModel:
    """A chat model behind an OpenAI-compatible Chat Completions API."""

    provider = "openai"

    def __init__(
        self,
        name: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int = 3,
        timeout: float = 60.0,
        # An async HTTP client for the SDK (the recorder passes one with a recording
        # transport). openai 3.x is built on `httpx2`, so this is that package's client.
        http_client: Any = None,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self._api_key = api_key or "not-needed"  # local servers accept any key
        self._max_retries = max_retries
        self._timeout = timeout
        self._http_client = http_client
        self._client: AsyncOpenAI | None = None

    def _sdk(self) -> AsyncOpenAI:
        if self._client is None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.base_url,
                max_retries=self._max_retries,
                timeout=self._timeout,
                http_client=self._http_client,
            )
        return self._client

    def _params(self, request: Request) -> dict[str, Any]:
        request = redacted(request)
        params: dict[str, Any] = {
            "model": self.name,
            "messages": [_message(m) for m in request.messages],
        }
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        o = request.options
        if o.temperature is not None:
            params["temperature"] = o.temperature
        if o.max_tokens is not None:
            params["max_tokens"] = o.max_tokens
        if o.stop:
            params["stop"] = list(o.stop)
        if o.seed is not None:
            params["seed"] = o.seed
        return params

    def _error(self, exc: Exception) -> ProviderError:
        import openai

        where = self.base_url or "the OpenAI API"
        if isinstance(exc, openai.APIConnectionError):  # includes timeouts
            return ProviderUnavailableError(f"cannot reach {where}: {exc}", retryable=True)
        if isinstance(exc, openai.APIStatusError):
            return status_error(where, exc.status_code, exc.message)
        return ProviderError(f"{where}: {exc}")

    async def generate(self, request: Request) -> Response:
        import openai

        try:
            completion = await self._sdk().chat.completions.create(**self._params(request))
        except openai.OpenAIError as exc:
            raise self._error(exc) from None
        choice = completion.choices[0]
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments)
            for c in (choice.message.tool_calls or [])
            if getattr(c, "function", None) is not None
        )
        return Response(
            text=choice.message.content or "",
            tool_calls=calls,
            finish_reason=_FINISH.get(choice.finish_reason or "", "unknown"),
            usage=_usage(completion.usage),
            response_id=completion.id,
            model=completion.model,
        )

    async def stream(self, request: Request) -> AsyncIterator[StreamEvent]:
        import openai

        params = self._params(request) | {"stream": True, "stream_options": {"include_usage": True}}
        calls: dict[int, list[str]] = {}  # index -> [id, name, arguments so far]
        ended: set[int] = set()
        finish: FinishReason = "unknown"
        response_id: str | None = None
        model: str | None = None
        try:
            stream = await self._sdk().chat.completions.create(**params)
            async with stream:
                async for chunk in stream:
                    response_id = chunk.id or response_id
                    model = chunk.model or model
                    if chunk.usage is not None:
                        yield UsageEvent(_usage(chunk.usage))
                    for choice in chunk.choices:
                        delta = choice.delta
                        if delta.content:
                            yield TextDelta(delta.content)
                        for tc in delta.tool_calls or []:
                            if tc.index not in calls:
                                name = tc.function.name if tc.function else ""
                                calls[tc.index] = [tc.id or "", name or "", ""]
                                yield ToolCallStart(tc.index, tc.id or "", name or "")
                            if tc.function and tc.function.arguments:
                                calls[tc.index][2] += tc.function.arguments
                                yield ToolCallDelta(tc.index, tc.function.arguments)
                                if tc.index not in ended and _complete(calls[tc.index][2]):
                                    # Complete arguments end the call now, before the
                                    # turn does: the agent can start it at once.
                                    ended.add(tc.index)
                                    call_id, name, arguments = calls[tc.index]
                                    yield ToolCallEnd(tc.index, ToolCall(call_id, name, arguments))
                        if choice.finish_reason:
                            finish = _FINISH.get(choice.finish_reason, "unknown")
        except openai.OpenAIError as exc:
            error = self._error(exc)
            yield ErrorEvent(str(error), retryable=error.retryable, status=error.status)
            return
        for index, (call_id, name, arguments) in sorted(calls.items()):
            if index not in ended:
                yield ToolCallEnd(index, ToolCall(call_id, name, arguments))
        yield Finish(finish, response_id=response_id, model=model)

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """One vector per text from the `/embeddings` endpoint (`name` is the embedding
        model). Floats are asked for explicitly: not every compatible server does base64."""
        import openai

        try:
            result = await self._sdk().embeddings.create(
                model=self.name,
                input=[default_redactor().redact(text) for text in texts],
                encoding_format="float",
            )
        except openai.OpenAIError as exc:
            raise self._error(exc) from None
        rows = sorted(result.data, key=lambda d: d.index)
        usage = Usage(input_tokens=int(getattr(result.usage, "prompt_tokens", 0) or 0))
        return Embeddings([list(map(float, d.embedding)) for d in rows], usage, result.model)

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


def _complete(arguments: str) -> bool:
    """True when streamed arguments already form a whole JSON object."""
    if not arguments.rstrip().endswith("}"):
        return False
    try:
        return isinstance(orjson.loads(arguments), dict)
    except orjson.JSONDecodeError:
        return False


def decode_arguments(call: ToolCall) -> dict[str, Any]:
    """A tool call's arguments as JSON; ProviderError when the model produced invalid JSON."""
    try:
        value = json.loads(call.arguments or "{}")
    except ValueError as exc:
        raise ProviderError(f"tool call {call.name!r} has invalid JSON arguments: {exc}") from None
    if not isinstance(value, dict):
        raise ProviderError(f"tool call {call.name!r} arguments are not a JSON object")
    return value
