"""The OpenAI-compatible provider: the real `openai` SDK against a local server that
speaks the Chat Completions wire format (JSON and SSE)."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from cairn.llm import (
    ErrorEvent,
    Finish,
    Message,
    OpenAIModel,
    Options,
    ProviderError,
    ProviderUnavailableError,
    Request,
    TextDelta,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolDef,
    UsageEvent,
    decode_arguments,
    run_sync,
    system,
    user,
)

from .fake_openai import Behaviour, FakeOpenAI

WEATHER = ToolDef(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _model(fake: FakeOpenAI, **kwargs: object) -> OpenAIModel:
    return OpenAIModel("gpt-test", base_url=fake.base_url, api_key="sk-test-key", **kwargs)  # type: ignore[arg-type]


def _collect(model: OpenAIModel, request: Request) -> list[object]:
    async def go() -> list[object]:
        return [event async for event in model.stream(request)]

    return run_sync(go())


def test_generate_returns_text_usage_and_ids(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(text="The disk is 93% full."))
    response = run_sync(_model(fake).generate(Request((system("be brief"), user("df -h?")))))
    assert response.text == "The disk is 93% full."
    assert response.finish_reason == "stop"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (11, 7)
    assert response.response_id == "chatcmpl-fake1"
    assert response.model == "gpt-test-2026"


def test_request_carries_messages_tools_and_options(fake: FakeOpenAI) -> None:
    request = Request(
        (system("sys"), user("hi")),
        tools=(WEATHER,),
        options=Options(temperature=0.2, max_tokens=50, stop=("\n\n",), seed=7),
    )
    run_sync(_model(fake).generate(request))
    (seen,) = fake.seen
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-test-key"
    body = seen.body
    assert body["model"] == "gpt-test"
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
    ]
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert (body["temperature"], body["max_tokens"], body["stop"], body["seed"]) == (
        0.2,
        50,
        ["\n\n"],
        7,
    )


def test_generate_returns_tool_calls(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(kind="tool"))
    response = run_sync(_model(fake).generate(Request((user("weather?"),), tools=(WEATHER,))))
    assert response.finish_reason == "tool_calls"
    (call,) = response.tool_calls
    assert (call.id, call.name) == ("call_1", "get_weather")
    assert decode_arguments(call) == {"city": "Paris", "unit": "celsius"}


def test_stream_yields_text_deltas_usage_and_finish(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(text="one two three"))
    events = _collect(_model(fake), Request((user("count"),)))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.split() == ["one", "two", "three"]
    usage = [e for e in events if isinstance(e, UsageEvent)]
    assert usage and usage[0].usage.output_tokens == 7
    assert isinstance(events[-1], Finish) and events[-1].reason == "stop"
    assert events[-1].response_id == "chatcmpl-fake2"
    assert fake.seen[0].body["stream"] is True


def test_stream_assembles_tool_call_arguments_from_deltas(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(kind="tool", tool_arguments='{"city": "Oslo", "days": 3}'))
    events = _collect(_model(fake), Request((user("weather?"),), tools=(WEATHER,)))
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert [(s.id, s.name) for s in starts] == [("call_1", "get_weather")]
    assert len(deltas) > 1  # the arguments really arrived in pieces
    assert "".join(d.arguments for d in deltas) == '{"city": "Oslo", "days": 3}'
    assert decode_arguments(ends[0].call) == {"city": "Oslo", "days": 3}
    assert isinstance(events[-1], Finish) and events[-1].reason == "tool_calls"


def test_429_with_retry_after_is_retried_then_succeeds(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(kind="status", status=429, headers={"retry-after-ms": "300"}))
    fake.script.append(Behaviour(text="after the wait"))
    start = time.monotonic()
    response = run_sync(_model(fake).generate(Request((user("x"),))))
    elapsed = time.monotonic() - start
    assert response.text == "after the wait"
    assert len(fake.seen) == 2
    assert elapsed >= 0.3  # Retry-After was honoured


def test_persistent_500_is_a_retryable_provider_error_after_retries(fake: FakeOpenAI) -> None:
    fake.script.extend(Behaviour(kind="status", status=500) for _ in range(3))
    with pytest.raises(ProviderError) as info:
        run_sync(_model(fake, max_retries=2).generate(Request((user("x"),))))
    assert info.value.status == 500 and info.value.retryable
    assert len(fake.seen) == 3  # one try and two retries


def test_unreachable_server_is_provider_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = OpenAIModel("m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=5)
    with pytest.raises(ProviderUnavailableError, match=f"cannot reach http://127.0.0.1:{port}"):
        run_sync(model.generate(Request((user("x"),))))


def test_a_stream_dropped_midway_ends_with_an_error_event(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(kind="drop", text="a b c d e f"))
    events = _collect(_model(fake, max_retries=0), Request((user("x"),)))
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].retryable
    assert not any(isinstance(e, Finish) for e in events)


def test_first_token_waits_for_a_slow_server(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(text="slow start", first_token_delay=0.4))
    model = _model(fake)

    async def first_token_after() -> float:
        start = time.monotonic()
        async for event in model.stream(Request((user("x"),))):
            if isinstance(event, TextDelta) and event.text.strip():
                return time.monotonic() - start
        raise AssertionError("no text")

    assert run_sync(first_token_after()) >= 0.4


def test_cancelling_a_stream_stops_reading(fake: FakeOpenAI) -> None:
    fake.script.append(Behaviour(text=" ".join(["word"] * 50), first_token_delay=0.2))
    model = _model(fake)

    async def take_one() -> str:
        async for event in model.stream(Request((user("x"),))):
            if isinstance(event, TextDelta) and event.text.strip():
                return event.text
        return ""

    async def go() -> str:
        return await asyncio.wait_for(take_one(), timeout=10)

    assert run_sync(go()).strip() == "word"


def test_assistant_and_tool_messages_round_trip_to_the_wire(fake: FakeOpenAI) -> None:
    from cairn.llm import ToolCall

    call = ToolCall("call_9", "get_weather", '{"city":"Rome"}')
    request = Request(
        (
            user("weather in Rome?"),
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", '{"temp": 21}', tool_call_id="call_9"),
        ),
        tools=(WEATHER,),
    )
    run_sync(_model(fake).generate(request))
    messages = fake.seen[0].body["messages"]
    assert messages[1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city":"Rome"}',
    }
    assert messages[2] == {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "call_9"}


def test_embed_returns_one_vector_per_text_in_order(fake: FakeOpenAI) -> None:
    model = OpenAIModel("text-embedding-3-small", base_url=fake.base_url, api_key="k")
    result = run_sync(model.embed(["disk full", "pod crashloop", "disk full"]))
    assert len(result.vectors) == 3 and len(result.vectors[0]) == 8
    assert result.vectors[0] == result.vectors[2] != result.vectors[1]
    assert result.usage.input_tokens == 6 and result.model == "text-embedding-3-small"
    assert fake.seen[0].path == "/v1/embeddings"
    assert fake.seen[0].body["encoding_format"] == "float"


def test_embed_errors_are_provider_errors(fake: FakeOpenAI) -> None:
    fake.script.extend(Behaviour(kind="status", status=401) for _ in range(2))
    model = OpenAIModel("e", base_url=fake.base_url, api_key="k", max_retries=0)
    with pytest.raises(ProviderError) as info:
        run_sync(model.embed(["x"]))
    assert info.value.status == 401 and not info.value.retryable
