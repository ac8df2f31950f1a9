"""The Anthropic provider: the real `anthropic` SDK against a local server that speaks
the Messages API wire format (JSON and SSE)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from cairn.llm._anthropic import AnthropicModel
from cairn.llm._errors import ProviderError, ProviderUnavailableError
from cairn.llm._model import Model, run_sync
from cairn.llm._openai import decode_arguments
from cairn.llm._types import (
    ErrorEvent,
    Finish,
    Message,
    Options,
    Request,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolDef,
    UsageEvent,
    system,
    user,
)

from .fake_anthropic import Behaviour, FakeAnthropic

WEATHER = ToolDef(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic()
    yield server
    server.close()


def _model(fake: FakeAnthropic, **kwargs: object) -> AnthropicModel:
    return AnthropicModel("claude-test", base_url=fake.base_url, api_key="sk-ant-test", **kwargs)  # type: ignore[arg-type]


def _collect(model: AnthropicModel, request: Request) -> list[object]:
    async def go() -> list[object]:
        return [event async for event in model.stream(request)]

    return run_sync(go())


def test_anthropic_model_satisfies_the_model_protocol() -> None:
    model = AnthropicModel("claude-test")
    assert isinstance(model, Model)
    assert (model.provider, model.name) == ("anthropic", "claude-test")


def test_generate_returns_text_usage_and_ids(fake: FakeAnthropic) -> None:
    fake.script.append(Behaviour(text="The disk is 93% full."))
    response = run_sync(_model(fake).generate(Request((system("be brief"), user("df -h?")))))
    assert response.text == "The disk is 93% full."
    assert response.finish_reason == "stop"
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens) == (11, 7)
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (5, 3)
    assert response.response_id == "msg_fake1"
    assert response.model == "claude-test-2026"


def test_request_maps_system_tools_and_options_to_the_messages_api(fake: FakeAnthropic) -> None:
    request = Request(
        (system("sys"), user("hi")),
        tools=(WEATHER,),
        options=Options(temperature=0.2, max_tokens=50, stop=("\n\n",), seed=7),
    )
    run_sync(_model(fake).generate(request))
    (seen,) = fake.seen
    assert seen.path == "/v1/messages"
    # Older SDKs send the key as x-api-key, newer ones as a bearer token.
    assert (
        seen.headers.get("x-api-key") == "sk-ant-test"
        or seen.headers.get("authorization") == "Bearer sk-ant-test"
    )
    assert seen.headers["anthropic-version"]
    body = seen.body
    assert body["model"] == "claude-test"
    assert body["system"] == "sys"
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather for a city",
            "input_schema": WEATHER.parameters,
        }
    ]
    assert (body["max_tokens"], body["stop_sequences"]) == (50, ["\n\n"])
    # The Messages API takes neither; sending them would be rejected.
    assert "temperature" not in body and "seed" not in body


def test_max_tokens_defaults_because_the_api_requires_it(fake: FakeAnthropic) -> None:
    run_sync(_model(fake).generate(Request((user("hi"),))))
    body = fake.seen[0].body
    assert body["max_tokens"] == 1024
    assert "system" not in body and "tools" not in body


def test_generate_returns_tool_calls(fake: FakeAnthropic) -> None:
    fake.script.append(Behaviour(kind="tool"))
    response = run_sync(_model(fake).generate(Request((user("weather?"),), tools=(WEATHER,))))
    assert response.finish_reason == "tool_calls"
    assert response.text == "Let me check."
    (call,) = response.tool_calls
    assert (call.id, call.name) == ("toolu_1", "get_weather")
    assert decode_arguments(call) == {"city": "Paris", "unit": "celsius"}


def test_stream_yields_text_deltas_usage_and_finish(fake: FakeAnthropic) -> None:
    fake.script.append(Behaviour(text="one two three"))
    events = _collect(_model(fake), Request((user("count"),)))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) == 3 and "".join(deltas) == "one two three"
    (usage,) = [e.usage for e in events if isinstance(e, UsageEvent)]
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens) == (11, 7, 5)
    assert isinstance(events[-1], Finish) and events[-1].reason == "stop"
    assert events[-1].response_id == "msg_fake2"
    assert events[-1].model == "claude-test-2026"
    assert fake.seen[0].body["stream"] is True


def test_stream_assembles_tool_call_arguments_from_deltas(fake: FakeAnthropic) -> None:
    fake.script.append(Behaviour(kind="tool", tool_arguments='{"city": "Oslo", "days": 3}'))
    events = _collect(_model(fake), Request((user("weather?"),), tools=(WEATHER,)))
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    # The tool_use block is content block 1 (after text); the call is still index 0.
    assert [(s.index, s.id, s.name) for s in starts] == [(0, "toolu_1", "get_weather")]
    assert len(deltas) > 1  # the arguments really arrived in pieces
    assert "".join(d.arguments for d in deltas) == '{"city": "Oslo", "days": 3}'
    assert [e.index for e in ends] == [0]
    assert decode_arguments(ends[0].call) == {"city": "Oslo", "days": 3}
    assert isinstance(events[-1], Finish) and events[-1].reason == "tool_calls"


def test_429_with_retry_after_is_retried_then_succeeds(fake: FakeAnthropic) -> None:
    fake.script.append(Behaviour(kind="status", status=429, headers={"retry-after-ms": "300"}))
    fake.script.append(Behaviour(text="after the wait"))
    start = time.monotonic()
    response = run_sync(_model(fake).generate(Request((user("x"),))))
    elapsed = time.monotonic() - start
    assert response.text == "after the wait"
    assert len(fake.seen) == 2
    assert elapsed >= 0.3  # Retry-After was honoured


@pytest.mark.parametrize("status", [500, 529])
def test_persistent_server_error_is_retryable_after_retries(
    fake: FakeAnthropic, status: int
) -> None:
    fake.script.extend(Behaviour(kind="status", status=status) for _ in range(3))
    with pytest.raises(ProviderError) as info:
        run_sync(_model(fake, max_retries=2).generate(Request((user("x"),))))
    assert info.value.status == status and info.value.retryable
    assert not isinstance(info.value, ProviderUnavailableError)
    assert len(fake.seen) == 3  # one try and two retries


def test_bad_request_is_not_retried_nor_retryable(fake: FakeAnthropic) -> None:
    fake.script.append(Behaviour(kind="status", status=400))
    with pytest.raises(ProviderError) as info:
        run_sync(_model(fake).generate(Request((user("x"),))))
    assert info.value.status == 400 and not info.value.retryable
    assert len(fake.seen) == 1


def test_unreachable_server_is_provider_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = AnthropicModel("m", base_url=f"http://127.0.0.1:{port}", max_retries=0, timeout=5)
    with pytest.raises(ProviderUnavailableError, match=f"cannot reach http://127.0.0.1:{port}"):
        run_sync(model.generate(Request((user("x"),))))


def test_a_stream_error_status_becomes_an_error_event(fake: FakeAnthropic) -> None:
    fake.script.append(Behaviour(kind="status", status=529))
    events = _collect(_model(fake, max_retries=0), Request((user("x"),)))
    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    assert (events[0].status, events[0].retryable) == (529, True)


def test_a_stream_dropped_midway_ends_with_an_error_event(fake: FakeAnthropic) -> None:
    fake.script.append(Behaviour(kind="drop", text="a b c d e f"))
    events = _collect(_model(fake, max_retries=0), Request((user("x"),)))
    assert isinstance(events[-1], ErrorEvent)
    assert events[-1].retryable
    assert not any(isinstance(e, Finish) for e in events)


def test_first_token_waits_for_a_slow_server(fake: FakeAnthropic) -> None:
    fake.script.append(Behaviour(text="slow start", first_token_delay=0.4))
    model = _model(fake)

    async def first_token_after() -> float:
        start = time.monotonic()
        async for event in model.stream(Request((user("x"),))):
            if isinstance(event, TextDelta) and event.text.strip():
                return time.monotonic() - start
        raise AssertionError("no text")

    assert run_sync(first_token_after()) >= 0.4


def test_cancelling_a_stream_stops_reading(fake: FakeAnthropic) -> None:
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


def test_assistant_tool_calls_and_tool_results_map_to_blocks(fake: FakeAnthropic) -> None:
    calls = (
        ToolCall("toolu_9", "get_weather", '{"city":"Rome"}'),
        ToolCall("toolu_10", "get_weather", '{"city":"Oslo"}'),
    )
    request = Request(
        (
            user("weather in Rome and Oslo?"),
            Message("assistant", "Checking.", tool_calls=calls),
            Message("tool", '{"temp": 21}', tool_call_id="toolu_9"),
            Message("tool", '{"temp": 3}', tool_call_id="toolu_10"),
        ),
        tools=(WEATHER,),
    )
    run_sync(_model(fake).generate(request))
    messages = fake.seen[0].body["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Rome"}},
            {
                "type": "tool_use",
                "id": "toolu_10",
                "name": "get_weather",
                "input": {"city": "Oslo"},
            },
        ],
    }
    # Both results answer one assistant turn, so they share one user message.
    assert messages[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_9", "content": '{"temp": 21}'},
            {"type": "tool_result", "tool_use_id": "toolu_10", "content": '{"temp": 3}'},
        ],
    }
    assert len(messages) == 3


def test_invalid_tool_call_arguments_are_a_provider_error(fake: FakeAnthropic) -> None:
    bad = Message("assistant", "", tool_calls=(ToolCall("t", "get_weather", "{not json"),))
    with pytest.raises(ProviderError, match="invalid JSON"):
        run_sync(_model(fake).generate(Request((user("x"), bad))))
    assert fake.seen == []
