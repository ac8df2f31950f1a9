"""The proof of safety: generated schedules on a virtual clock (scripted model, tools with
drawn latencies and failures, guesses that hit, miss, go stale, fail to parse or error,
turns cancelled midway), each run with speculation on and off.

1. no write/external side effect before the model asked for that exact call;
2. transcript (so every tool result) identical with speculation on and off;
3. each call gets exactly one result; writes happen as often as the model asked;
4. a guess differing in a non-ignored argument is a miss (never claimed);
5./6. stale reads and failed guesses never reach the transcript (by 2);
7. no task outlives a turn; 8. nothing is shown while an iteration's calls are open;
9. with only wrong guesses nothing guessed is claimed; the cap on running guesses holds.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cairn.agent import Agent, AgentOptions, Answer, Guess, Text, ToolFinished, ToolStarted
from cairn.llm import user

from .scripted import ScriptedModel, Step
from .tools import World
from .vclock import run_virtual

EXAMPLES = int(os.environ.get("CAIRN_AGENT_SCHEDULES", "10000"))
XS = st.integers(0, 1)  # few values: guesses, calls and writes collide often
LATENCY = st.sampled_from([0.0, 0.05, 0.5, 2.0, 5.0])
TOOLS = ["read_a", "read_w", "write_w", "send_x"]


@st.composite
def calls(draw: Any) -> tuple[str, str, float]:
    kind = draw(st.sampled_from([*TOOLS, *TOOLS, "write_w", "nope", "bad_json", "bad_schema"]))
    x = draw(XS)
    at = draw(st.sampled_from([0.0, 0.1, 0.7, 1.5, 3.0]))
    if kind == "nope":
        return ("nope", "{}", at)
    if kind == "bad_json":
        return ("read_a", '{"x": ', at)
    if kind == "bad_schema":
        return ("read_a", '{"x": "one"}', at)
    extra = draw(st.sampled_from(["", ', "unit": "s"', ', "debug_id": 9']))
    return (kind, f'{{"x": {x}{extra}}}', at)


@st.composite
def iteration(draw: Any) -> Step:
    chosen = draw(st.lists(calls(), min_size=1, max_size=3))
    names = {c[0] for c in chosen}
    if {"read_w", "write_w"} <= names:  # a read racing a write on its scope is a race
        chosen = [c for c in chosen if c[0] != "read_w"]  # with or without speculation
    return Step(tuple(chosen), first_token=draw(st.sampled_from([0.0, 0.2, 1.0])))


@st.composite
def guesses(draw: Any) -> list[tuple[Guess, bool]]:
    out = []
    for _ in range(draw(st.integers(0, 5))):
        name, x = draw(st.sampled_from([*TOOLS, "read_w", "read_w"])), draw(XS)
        variant = draw(st.sampled_from(["exact", "ignored", "miss", "unparsable"]))
        args: Any = {"x": x}
        if variant == "ignored":
            args = {"x": x, "debug_run": 7, "unit_hint": "ms"}
        elif variant == "miss":
            args = {"x": x + 10}
        elif variant == "unparsable":
            args = '{"x": oops'
        out.append((Guess(name, args, "test"), variant in ("exact", "ignored")))
    return out


@dataclass
class Schedule:
    steps: list[Step]
    latency: dict[tuple[str, int], float]
    fail: frozenset[tuple[str, int]]
    guess_right: frozenset[tuple[str, int]]
    guesses: list[tuple[Guess, bool]]
    deny: frozenset[int]
    cap: int
    cancel_at: float | None


PAIRS = st.tuples(st.sampled_from(TOOLS), XS)


@st.composite
def schedules(draw: Any) -> Schedule:
    steps = draw(st.lists(iteration(), max_size=3))
    answer = Step(answer_seconds=draw(st.sampled_from([0.0, 0.5, 2.0])))
    return Schedule(
        [*steps, answer],
        draw(st.dictionaries(PAIRS, LATENCY, max_size=8)),
        frozenset(draw(st.sets(PAIRS, max_size=3))),
        frozenset(draw(st.sets(PAIRS, max_size=6))),
        draw(guesses()),
        frozenset(draw(st.sets(XS, max_size=2))),
        draw(st.integers(1, 4)),
        draw(st.sampled_from([None] * 7 + [0.01, 0.3, 1.0, 2.5, 6.0])),
    )


class Fixed:
    def __init__(self, guesses: list[Guess]) -> None:
        self.guesses = guesses

    def predict(self, message: str) -> list[Guess]:
        return list(self.guesses)


@dataclass
class Outcome:
    events: list[Any]
    world: World
    model: ScriptedModel
    agent: Agent
    leaked: int


def play(s: Schedule, speculate: bool) -> Outcome:
    world = World(latency=s.latency, fail=s.fail, guess_right=s.guess_right)
    model = ScriptedModel(s.steps)

    async def approve(call: Any, tool: Any) -> bool:
        await asyncio.sleep(0.05)
        return json.loads(call.arguments)["x"] not in s.deny

    options = AgentOptions(max_speculative=s.cap, max_steps=6)
    if not speculate:
        options = AgentOptions(eager=False, predict=False, speculate_results=False, max_steps=6)
    agent = Agent(
        model,
        world.tools(),
        predictors=[Fixed([g for g, _ in s.guesses])],
        options=options,
        approve=approve,
    )

    async def main() -> tuple[list[Any], int]:
        events: list[Any] = []

        async def consume() -> None:
            async for event in agent.run([user("do it")]):
                events.append(event)

        task = asyncio.ensure_future(consume())
        if s.cancel_at is not None and speculate:
            await asyncio.sleep(s.cancel_at)
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
        return events, len(asyncio.all_tasks()) - 1

    events, leaked = run_virtual(main())
    return Outcome(events, world, model, agent, leaked)


def _asked(model: ScriptedModel) -> list[tuple[float, str, int]]:
    out = []
    for t, name, args in model.asked:
        try:
            x = json.loads(args)["x"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(x, int):
            out.append((t, name, x))
    return out


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(schedules())
def test_speculation_is_never_visible(s: Schedule) -> None:
    on = play(s, speculate=True)
    # 7. nothing outlives the turn
    assert on.leaked == 0
    # 1. every side effect comes after the model asked for exactly that call
    asked = _asked(on.model)
    for t, name, x in on.world.effects:
        assert any(a <= t and n == name and ax == x for a, n, ax in asked), (name, x)
    # 9. the cap on running guesses holds; a wrong guess is never claimed
    assert on.agent.stats.peak_speculative <= s.cap
    hits = [g for g, hit in s.guesses if hit]
    claimed = [r for r in on.agent.stats.records if r.get("outcome") == "claimed"]
    if not hits:
        assert not [r for r in claimed if r["source"] == "test"]
    # 8. nothing is shown while an iteration's calls are open
    open_calls: set[str] = set()
    for event in on.events:
        if isinstance(event, ToolStarted):
            open_calls.add(event.id)
        elif isinstance(event, ToolFinished):
            open_calls.discard(event.id)
        elif isinstance(event, Text):
            assert not open_calls
    if s.cancel_at is not None:
        return
    off = play(s, speculate=False)
    assert off.leaked == 0
    assert isinstance(on.events[-1], Answer) and isinstance(off.events[-1], Answer)
    # 2. the same transcript, so the same tool results
    assert on.events[-1].messages == off.events[-1].messages
    assert "".join(e.text for e in on.events if isinstance(e, Text)) == on.events[-1].text
    # 3. one result per call; writes exactly as often as without speculation
    started = [e.id for e in on.events if isinstance(e, ToolStarted)]
    finished = [e.id for e in on.events if isinstance(e, ToolFinished)]
    assert sorted(started) == sorted(finished) and len(set(started)) == len(started)
    effects = Counter((n, x) for _, n, x in on.world.effects)
    assert effects == Counter((n, x) for _, n, x in off.world.effects)
