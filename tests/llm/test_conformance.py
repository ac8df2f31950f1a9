"""The promises of the Model interface, run against every provider and its fake server.

Adding a provider means adding it to `PROVIDERS` and passing this suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest

from cairn.llm._anthropic import AnthropicModel
from cairn.llm._errors import ProviderError
from cairn.llm._model import Model, run_sync
from cairn.llm._openai import OpenAIModel, decode_arguments
from cairn.llm._types import (
    ErrorEvent,
    Finish,
    Request,
    Response,
    TextDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolDef,
    user,
)

from .fake_anthropic import FakeAnthropic
from .fake_openai import Behaviour, FakeOpenAI, Seen


class Fake(Protocol):
    script: Any
    seen: list[Seen]
    base_url: str

    def close(self) -> None: ...


PROVIDERS: dict[str, tuple[Callable[[], Fake], Callable[[str, int], Model]]] = {
    "openai": (
        FakeOpenAI,
        lambda url, retries: OpenAIModel("m", base_url=url, api_key="k", max_retries=retries),
    ),
    "anthropic": (
        FakeAnthropic,
        lambda url, retries: AnthropicModel("m", base_url=url, api_key="k", max_retries=retries),
    ),
}

WEATHER = ToolDef(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> Iterator[tuple[Model, Fake]]:
    """A model of one provider, pointed at that provider's scripted fake server."""
    make_fake, make_model = PROVIDERS[request.param]
    fake = make_fake()
    yield make_model(fake.base_url, 1), fake
    fake.close()


def _collect(model: Model, request: Request) -> list[object]:
    async def go() -> list[object]:
        return [event async for event in model.stream(request)]

    return run_sync(go())


def _generate_then_stream(model: Model, request: Request) -> tuple[Response, list[object]]:
    # One event loop for both: an SDK client belongs to the loop it was first used on.
    async def go() -> tuple[Response, list[object]]:
        response = await model.generate(request)
        return response, [event async for event in model.stream(request)]

    return run_sync(go())


def test_every_provider_is_a_model(provider: tuple[Model, Fake]) -> None:
    model, _ = provider
    assert isinstance(model, Model)
    assert model.provider and model.name == "m"


def test_generate_returns_text_usage_and_a_response_id(provider: tuple[Model, Fake]) -> None:
    model, fake = provider
    fake.script.append(Behaviour(text="The disk is 93% full."))
    response = run_sync(model.generate(Request((user("df -h?"),))))
    assert response.text == "The disk is 93% full."
    assert response.finish_reason == "stop"
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.response_id


def test_stream_text_matches_generate_and_ends_with_finish(provider: tuple[Model, Fake]) -> None:
    model, fake = provider
    fake.script.extend([Behaviour(text="one two three"), Behaviour(text="one two three")])
    response, events = _generate_then_stream(model, Request((user("count"),)))
    generated = response.text
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert streamed.strip() == generated
    assert sum(isinstance(e, TextDelta) for e in events) > 1
    assert isinstance(events[-1], Finish) and events[-1].reason == "stop"
    assert events[-1].response_id


def test_tool_calls_agree_between_generate_and_stream(provider: tuple[Model, Fake]) -> None:
    model, fake = provider
    arguments = '{"city": "Oslo", "days": 3}'
    fake.script.extend(Behaviour(kind="tool", tool_arguments=arguments) for _ in range(2))
    request = Request((user("weather?"),), tools=(WEATHER,))
    response, events = _generate_then_stream(model, request)
    (generated,) = response.tool_calls
    (start,) = [e for e in events if isinstance(e, ToolCallStart)]
    (end,) = [e for e in events if isinstance(e, ToolCallEnd)]
    assert response.finish_reason == "tool_calls"
    assert (start.index, start.id, start.name) == (end.index, end.call.id, end.call.name)
    assert end.call.name == generated.name == "get_weather"
    assert decode_arguments(end.call) == decode_arguments(generated) == {"city": "Oslo", "days": 3}
    assert isinstance(events[-1], Finish) and events[-1].reason == "tool_calls"


@pytest.mark.parametrize(("status", "retryable"), [(400, False), (503, True)])
def test_errors_are_provider_errors_with_status(
    provider: tuple[Model, Fake], status: int, retryable: bool
) -> None:
    model, fake = provider
    fake.script.extend(Behaviour(kind="status", status=status) for _ in range(4))
    with pytest.raises(ProviderError) as info:
        run_sync(model.generate(Request((user("x"),))))
    assert (info.value.status, info.value.retryable) == (status, retryable)


def test_stream_errors_are_error_events(provider: tuple[Model, Fake]) -> None:
    model, fake = provider
    fake.script.extend(Behaviour(kind="status", status=503) for _ in range(2))
    events = _collect(model, Request((user("x"),)))
    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    assert (events[0].status, events[0].retryable) == (503, True)


def test_a_dropped_stream_ends_with_a_retryable_error_event(provider: tuple[Model, Fake]) -> None:
    model, fake = provider
    fake.script.append(Behaviour(kind="drop", text="a b c d e f"))
    events = _collect(model, Request((user("x"),)))
    assert isinstance(events[-1], ErrorEvent) and events[-1].retryable
    assert not any(isinstance(e, Finish) for e in events)
