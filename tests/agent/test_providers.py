"""The agent over each remote provider's real SDK against its wire-format fake: a tool
call, its result sent back in the provider's own format, the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from cairn.agent import Agent, Answer, Tool, ToolContext, ToolFinished
from cairn.llm import AnthropicModel, Model, OpenAIModel, user

from ..llm.fake_anthropic import FakeAnthropic
from ..llm.fake_openai import Behaviour, FakeOpenAI

KEY = "sk-test-provider-0123456789"
PROVIDERS: dict[str, tuple[type[Any], Callable[[str], Model]]] = {
    "openai": (FakeOpenAI, lambda url: OpenAIModel("gpt-4o-mini", base_url=url, api_key=KEY)),
    "anthropic": (
        FakeAnthropic,
        lambda url: AnthropicModel("claude-haiku-4-5", base_url=url, api_key=KEY),
    ),
}


def _tool_result_sent(provider: str, body: dict[str, Any]) -> str:
    if provider == "openai":
        return next(m["content"] for m in body["messages"] if m["role"] == "tool")
    blocks = [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]]
    result = next(b for b in blocks if b.get("type") == "tool_result")
    content = result["content"]
    return content if isinstance(content, str) else content[0]["text"]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_tool_call_round_trips_through_each_provider(provider: str) -> None:
    fake_cls, make = PROVIDERS[provider]
    fake = fake_cls()
    fake.script.extend([Behaviour(kind="tool"), Behaviour(text="Sunny, 21 degrees.")])

    async def weather(args: dict[str, Any], ctx: ToolContext) -> str:
        return f"{args['city']}: sunny, 21 {args['unit']}"

    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city", "unit"],
    }
    agent = Agent(make(fake.base_url), [Tool("get_weather", "the weather", weather, schema)])

    async def main() -> list[Any]:
        return [e async for e in agent.run([user("weather in Paris?")])]

    try:
        events = asyncio.run(main())
    finally:
        fake.close()
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    assert finished.result == "Paris: sunny, 21 celsius" and not finished.error
    assert isinstance(events[-1], Answer) and events[-1].text.strip() == "Sunny, 21 degrees."
    assert _tool_result_sent(provider, fake.seen[-1].body) == "Paris: sunny, 21 celsius"
