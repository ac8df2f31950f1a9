"""The promises of the Model interface, run against every provider.

The remote providers run against their scripted fake servers; the local provider runs the
real bundled model. Promises every provider keeps take the `subject` fixture (all
providers); promises only a scripted server can provoke (tool calls, HTTP errors, dropped
connections) take the `provider` fixture (remote providers only). Adding a remote provider
means adding it to `REMOTES` and passing this suite."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Protocol, cast

import pytest

from cairn.llm._anthropic import AnthropicModel
from cairn.llm._errors import ProviderError
from cairn.llm._local import LocalModel
from cairn.llm._model import Model, run_sync
from cairn.llm._openai import OpenAIModel, decode_arguments
from cairn.llm._types import (
    ErrorEvent,
    Finish,
    Options,
    Request,
    Response,
    StreamEvent,
    TextDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolDef,
    UsageEvent,
    user,
)

from .fake_anthropic import FakeAnthropic
from .fake_openai import Behaviour, FakeOpenAI, Seen


class Fake(Protocol):
    script: Any
    seen: list[Seen]
    base_url: str

    def close(self) -> None: ...


REMOTES: dict[str, tuple[Callable[[], Fake], Callable[[str, int], Model]]] = {
    "openai": (
        FakeOpenAI,
        lambda url, retries: OpenAIModel("m", base_url=url, api_key="k", max_retries=retries),
    ),
    "anthropic": (
        FakeAnthropic,
        lambda url, retries: AnthropicModel("m", base_url=url, api_key="k", max_retries=retries),
    ),
}
LOCAL = "local"

WEATHER = ToolDef(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)

# Greedy and short, so the local model answers the same way twice in about a second.
GREEDY = Options(max_tokens=8, temperature=0.0)
REMOTE_REQUEST = Request((user("count"),), options=GREEDY)
LOCAL_REQUEST = Request((user("The capital of France is"),), options=GREEDY)


@dataclass(frozen=True)
class Subject:
    """A model of one provider, the request to ask it, and who it says it is."""

    model: Model
    request: Request
    provider: str
    name: str


@pytest.fixture(scope="module")
def local_model() -> LocalModel:
    # One instance for the module; it loads lazily, on the first local call.
    return LocalModel()


@pytest.fixture(scope="module")
def text_fakes() -> Iterator[dict[str, Fake]]:
    # Shared by the `subject` tests, which only need text answers: closing a fake takes
    # half a second (its server's shutdown poll), so each is closed once, not per test.
    fakes = {name: make_fake() for name, (make_fake, _) in REMOTES.items()}
    yield fakes
    for fake in fakes.values():
        fake.close()


@pytest.fixture(params=sorted([*REMOTES, LOCAL]))
def subject(
    request: pytest.FixtureRequest, local_model: LocalModel, text_fakes: dict[str, Fake]
) -> Subject:
    """Every provider: a remote one at its fake, scripted to answer with text; the local one."""
    if request.param == LOCAL:
        return Subject(local_model, LOCAL_REQUEST, LOCAL, "gemma-3-270m-q4_k_m")
    fake = text_fakes[request.param]
    fake.script.clear()
    fake.script.extend(Behaviour(text="one two three") for _ in range(2))
    _, make_model = REMOTES[request.param]
    return Subject(make_model(fake.base_url, 1), REMOTE_REQUEST, request.param, "m")


@pytest.fixture(params=sorted(REMOTES))
def provider(request: pytest.FixtureRequest) -> Iterator[tuple[Model, Fake]]:
    """A model of one remote provider, pointed at that provider's scripted fake server."""
    make_fake, make_model = REMOTES[request.param]
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


# -- promises every provider keeps ------------------------------------------------------


def test_every_provider_is_a_model(subject: Subject) -> None:
    assert isinstance(subject.model, Model)
    assert (subject.model.provider, subject.model.name) == (subject.provider, subject.name)


def test_generate_returns_text_usage_and_a_response_id(subject: Subject) -> None:
    response = run_sync(subject.model.generate(subject.request))
    assert response.text.strip()
    assert response.finish_reason in ("stop", "length")
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.response_id


def test_stream_text_matches_generate_and_ends_with_finish(subject: Subject) -> None:
    response, events = _generate_then_stream(subject.model, subject.request)
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    # A fake streams each word with a space after it; the text before that must agree.
    assert streamed.rstrip() == response.text.rstrip() != ""
    assert sum(isinstance(e, TextDelta) for e in events) > 1
    finish = events[-1]
    assert isinstance(finish, Finish) and finish.response_id
    assert finish.reason == response.finish_reason and finish.reason in ("stop", "length")
    usage = [i for i, e in enumerate(events) if isinstance(e, UsageEvent)]
    assert usage and usage[-1] < len(events) - 1
    last_usage = events[usage[-1]]
    assert isinstance(last_usage, UsageEvent) and last_usage.usage.output_tokens > 0


def test_a_stream_left_early_leaves_the_model_usable(subject: Subject) -> None:
    async def go() -> tuple[TextDelta, Response]:
        first: TextDelta | None = None
        # Every provider's stream is an async generator. Left bare, a `break` only schedules
        # its cleanup, which would then race the generate below; aclosing() finishes it first.
        stream = cast("AsyncGenerator[StreamEvent, None]", subject.model.stream(subject.request))
        async with aclosing(stream) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    first = event
                    break
        assert first is not None, "no text streamed"
        return first, await subject.model.generate(subject.request)

    first, response = run_sync(go())
    assert first.text.strip()
    assert response.text.startswith(first.text.rstrip())
    assert response.finish_reason in ("stop", "length")
    assert response.usage.output_tokens > 0


# -- promises only a scripted server can provoke ------------------------------------------


def test_generate_returns_the_scripted_text(provider: tuple[Model, Fake]) -> None:
    model, fake = provider
    fake.script.append(Behaviour(text="The disk is 93% full."))
    response = run_sync(model.generate(Request((user("df -h?"),))))
    assert response.text == "The disk is 93% full."
    assert response.finish_reason == "stop"
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.response_id


def test_stream_of_scripted_text_ends_with_finish_stop(provider: tuple[Model, Fake]) -> None:
    model, fake = provider
    fake.script.extend([Behaviour(text="one two three"), Behaviour(text="one two three")])
    response, events = _generate_then_stream(model, Request((user("count"),)))
    generated = response.text
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert streamed.strip() == generated == "one two three"
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
