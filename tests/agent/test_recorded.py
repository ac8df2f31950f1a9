"""The agent over the real OpenAI SDK against the wire-format fake, recorded: the turn's
run holds the model calls and, beside them, each tool execution (speculative or not,
claimed or wasted) and each speculative model call with its outcome."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cairn.agent import Agent, Answer, Guess, RecorderTracer, Tool, ToolContext
from cairn.llm import OpenAIModel, user
from cairn.llm.recorder import Recorder, RecordStore
from cairn.store import SQLiteKV

from ..llm.fake_openai import Behaviour, FakeOpenAI

SECRET = "sk-proj-PLANTEDkey0123456789abcdefXYZ"


class Guesses:
    def predict(self, message: str) -> list[Guess]:
        return [Guess("get_weather", {"city": "Paris"}), Guess("get_weather", {"city": SECRET})]


def test_a_recorded_turn_shows_its_tools_and_speculation(tmp_path: Path) -> None:
    fake = FakeOpenAI()
    fake.script.extend([Behaviour(kind="tool"), Behaviour(text="It is sunny in Paris.")])
    recorder = Recorder(RecordStore(SQLiteKV(tmp_path / "debug.db")), close_store=True)
    ran: list[dict[str, Any]] = []

    async def weather(args: dict[str, Any], ctx: ToolContext) -> str:
        ran.append(args)
        await asyncio.sleep(0.05)
        return f"sunny in {args['city']}"

    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "default": "c"}},
        "required": ["city"],
    }
    tool = Tool("get_weather", "the weather", weather, schema, ignore=frozenset({"unit"}))
    model = recorder.wrap(OpenAIModel("gpt-4o-mini", base_url=fake.base_url, max_retries=0))
    agent = Agent(model, [tool], predictors=[Guesses()], tracer=RecorderTracer(recorder))

    async def main() -> Answer:
        with recorder.run("agent_turn", title="weather?"):
            events = [e async for e in agent.run([user("weather in Paris?")])]
        assert isinstance(events[-1], Answer)
        return events[-1]

    try:
        answer = asyncio.run(main())
        recorder.flush()
        assert answer.text.strip() == "It is sunny in Paris."
        assert agent.stats.claimed == 1 and len(ran) == 2  # the Paris guess was claimed
        (run,) = [r for r in recorder.store.runs() if r["kind"] == "agent_turn"]
        steps = recorder.store.steps(run["id"])
        modes = sorted(s["mode"] for s in steps)
        assert modes.count("stream") == 2 and modes.count("tool") == 2
        tools = {s["response"]["outcome"]: s["response"] for s in steps if s["mode"] == "tool"}
        assert tools["claimed"]["speculative"] and tools["claimed"]["source"] == "rules"
        assert tools["wasted"]["speculative"] or tools.get("cancelled")
        raw = (tmp_path / "debug.db").read_bytes()
        assert SECRET.encode() not in raw  # a guessed argument is redacted like a prompt
    finally:
        recorder.close()
        fake.close()
