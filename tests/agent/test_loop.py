"""The agent loop on a virtual clock: answers, tool calls, speculation hits and misses,
and every kind of bad input ending in a clear tool error or message."""

from __future__ import annotations

import asyncio
import json

from cairn.agent import SEQUENTIAL, Agent, AgentOptions, Answer, Guess, Text, ToolFinished
from cairn.llm import user

from .scripted import ScriptedModel, Step
from .tools import World
from .vclock import run_virtual


def turn(agent: Agent, message: str = "check a") -> tuple[list, float]:  # type: ignore[type-arg]
    async def main() -> tuple[list, float]:  # type: ignore[type-arg]
        loop = asyncio.get_running_loop()
        events = [e async for e in agent.run([user(message)])]
        assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing outlives the turn
        return events, loop.time()

    return run_virtual(main())


class Always:
    def __init__(self, *guesses: Guess) -> None:
        self.guesses = list(guesses)

    def predict(self, message: str) -> list[Guess]:
        return self.guesses


def test_a_turn_calls_a_tool_and_answers() -> None:
    world = World(latency={("read_a", 1): 3.0})
    model = ScriptedModel([Step((("read_a", '{"x": 1}', 1.5),)), Step(answer_seconds=2.0)])
    events, took = turn(Agent(model, world.tools(), options=SEQUENTIAL))
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.text.startswith("The answer is")
    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert [f.result for f in finished] == ["read_a(1,s) saw 0"]
    assert abs(took - 6.5) < 1e-6  # decision 1.5 + tool 3 + answer 2


def test_a_predicted_read_overlaps_the_decision_and_a_guessed_result_the_answer() -> None:
    world = World(latency={("read_a", 1): 3.0}, guess_right=frozenset({("read_a", 1)}))
    steps = [Step((("read_a", '{"x": 1}', 1.5),)), Step(answer_seconds=2.0)]
    guess = Always(Guess("read_a", {"x": 1, "debug_trace": "t"}))  # debug_ keys are ignored
    off = turn(Agent(ScriptedModel(steps), world.tools(), options=SEQUENTIAL))
    a3 = AgentOptions(speculate_results=False)
    on3 = turn(
        Agent(ScriptedModel(steps), World(**_same(world)).tools(), predictors=[guess], options=a3)
    )
    agent = Agent(ScriptedModel(steps), World(**_same(world)).tools(), predictors=[guess])
    on4 = turn(agent)
    assert abs(on3[1] - 5.0) < 1e-6  # max(decision, tool) + answer
    assert abs(on4[1] - 3.5) < 1e-6  # max(decision + answer, tool)
    assert on4[0][-1].messages == off[0][-1].messages == on3[0][-1].messages
    assert agent.stats.claimed == 1 and agent.stats.adopted == 1


def _same(world: World) -> dict:  # type: ignore[type-arg]
    return {"latency": world.latency, "guess_right": world.guess_right, "fail": world.fail}


def test_a_wrong_guess_of_a_result_is_discarded_and_the_model_asked_again() -> None:
    world = World(latency={("read_a", 1): 3.0})  # every guess of a result is wrong
    steps = [Step((("read_a", '{"x": 1}', 1.5),)), Step(answer_seconds=2.0)]
    agent = Agent(
        ScriptedModel(steps), world.tools(), predictors=[Always(Guess("read_a", {"x": 1}))]
    )
    events, took = turn(agent)
    assert abs(took - 5.0) < 1e-6
    assert agent.stats.discarded == 1 and agent.stats.adopted == 0
    texts = "".join(e.text for e in events if isinstance(e, Text))
    assert texts == events[-1].text  # the discarded call's words never reached the user


def test_a_guessed_write_waits_at_its_barrier_until_the_model_asks() -> None:
    world = World(latency={("write_w", 1): 1.0})
    steps = [Step((("write_w", '{"x": 1}', 2.0),)), Step(answer_seconds=1.0)]
    model = ScriptedModel(steps)
    agent = Agent(
        model,
        world.tools(),
        predictors=[Always(Guess("write_w", {"x": 1}), Guess("write_w", {"x": 2}))],
        approve=_yes,
    )
    turn(agent)
    assert [(n, x) for _, n, x in world.effects] == [("write_w", 1)]  # x=2 never written
    assert world.effects[0][0] >= model.asked[0][0]
    assert agent.stats.claimed == 1


async def _yes(call, tool) -> bool:  # type: ignore[no-untyped-def]
    return True


def test_bad_calls_become_clear_tool_errors() -> None:
    world = World(latency={("read_a", 7): 99.0}, fail=frozenset({("read_a", 13)}))
    tools = world.tools()
    calls = (
        ("nope", "{}", 0.1),
        ("read_a", "{not json", 0.2),
        ("read_a", '{"x": "seven"}', 0.3),
        ("read_a", '{"x": 13}', 0.4),
        ("send_x", '{"x": 1}', 0.5),
    )
    model = ScriptedModel([Step(calls), Step(answer_seconds=1.0)])
    events, _ = turn(Agent(model, tools))
    finished = sorted((e for e in events if isinstance(e, ToolFinished)), key=lambda e: e.id)
    results = [e.result for e in finished]
    assert results == [
        "error: there is no tool 'nope' (the tools are: read_a, read_w, send_x, write_w)",
        results[1],
        "error: read_a: x: 'seven' is not of type 'integer'",
        "error: read_a failed: RuntimeError: read_a broke on 13",
        "error: send_x was not run: it needs approval",
    ]
    assert results[1].startswith("error: the arguments of read_a are not JSON")
    assert all(e.error for e in events if isinstance(e, ToolFinished))
    assert world.effects == []


def test_a_hanging_tool_times_out_and_a_huge_result_is_clipped() -> None:
    world = World(latency={("read_a", 1): 1e9})
    tools = world.tools()
    hang = tools[0].__class__(**{**tools[0].__dict__, "timeout": 5.0})

    async def huge(args, ctx):  # type: ignore[no-untyped-def]
        return "x" * 10_000_000

    big = tools[1].__class__(**{**tools[1].__dict__, "run": huge})
    model = ScriptedModel(
        [Step((("read_a", '{"x": 1}', 0.1), ("read_w", '{"x": 1}', 0.1))), Step(answer_seconds=1)]
    )
    events, took = turn(Agent(model, [hang, big]))
    finished = sorted((e for e in events if isinstance(e, ToolFinished)), key=lambda e: e.id)
    results = [e.result for e in finished]
    assert results[0] == "error: read_a timed out after 5 s"
    assert len(results[1]) < 100_100 and results[1].endswith("10,000,000 characters]")
    assert took < 10


def test_a_model_that_loops_or_runs_out_of_steps_ends_the_turn_with_a_message() -> None:
    world = World()
    same = Step((("read_a", '{"x": 1}', 0.1),))
    agent = Agent(ScriptedModel([same] * 20), world.tools(), options=AgentOptions(max_steps=5))
    events, _ = turn(agent)
    results = [e.result for e in events if isinstance(e, ToolFinished)]
    assert results[2].startswith("error: read_a was already called 2 times")
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.stopped == "the turn used all of its 5 steps"


def test_a_cancelled_turn_leaves_no_task_and_no_write() -> None:
    world = World(latency={("write_w", 1): 10.0, ("read_a", 1): 10.0})
    model = ScriptedModel([Step((("write_w", '{"x": 1}', 5.0),)), Step(answer_seconds=1)])
    agent = Agent(
        model,
        world.tools(),
        predictors=[Always(Guess("write_w", {"x": 1}), Guess("read_a", {"x": 1}))],
    )

    async def main() -> None:
        events = agent.run([user("go")])
        first = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(2.0)
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        await events.aclose()
        assert asyncio.all_tasks() == {asyncio.current_task()}

    run_virtual(main())
    assert world.effects == []


def test_arguments_match_canonically() -> None:
    tool = World().tools()[0]
    a = tool.parse('{"x": 1, "unit": "s", "debug_id": 4}')
    b = tool.parse(json.dumps({"unit_hint": "h", "x": 1}))
    c = tool.parse('{"x": 2}')
    assert a.key == b.key != c.key  # defaults applied, ignored and debug_ keys dropped


def test_a_read_guessed_before_a_write_on_its_scope_is_stale_and_never_claimed() -> None:
    world = World()
    steps = [
        Step((("write_w", '{"x": 1}', 0.5),)),
        Step((("read_w", '{"x": 1}', 0.5),)),
        Step(answer_seconds=0.1),
    ]
    agent = Agent(
        ScriptedModel(steps),
        world.tools(),
        predictors=[Always(Guess("read_w", {"x": 1}))],
        approve=_yes,
    )
    events, _ = turn(agent)
    finished = [e.result for e in events if isinstance(e, ToolFinished)]
    assert finished == ["write_w did 1", "read_w(1,s) saw 1"]  # not the stale "saw 0"
    outcomes = [(r["source"], r["outcome"]) for r in agent.stats.records if r["kind"] == "tool"]
    assert ("test", "stale") in outcomes or ("rules", "stale") in outcomes


def test_a_token_budget_ends_the_turn_before_more_tools_run() -> None:
    world = World()
    step = Step((("read_a", '{"x": 1}', 0.1),))
    steps = [step, Step((("read_a", '{"x": 2}', 0.1),)), Step(answer_seconds=0.1)]
    agent = Agent(ScriptedModel(steps), world.tools(), options=AgentOptions(max_tokens=25))
    events, _ = turn(agent)
    answer = events[-1]  # each scripted call costs 15 tokens: the second call's tools never run
    assert isinstance(answer, Answer)
    assert answer.stopped == "the turn used its token budget (30 of 25 tokens)"
    finished = [e.result for e in events if isinstance(e, ToolFinished)]
    assert finished == ["read_a(1,s) saw 0"]  # (x=2 may have been read eagerly, unused)
