"""Agent speculation benchmark (issue 21): turn latency per arm, against the sequential
arm of the same run and each arm's analytic bound.

A fake OpenAI-compatible server on 127.0.0.1 speaks the real streaming wire format
(Chat Completions SSE, through the real `openai` SDK and `cairn.llm.OpenAIModel`) with a
scripted latency profile: the tool call's arguments complete at 0.8 × the decision time,
the stream ends at the decision time, and the answer streams over the answer time. The
tool sleeps for the tool time. A turn is one decision, one tool call, one answer.

Arms: A0 sequential; A1 parallel tool calls (the same as A0 with one call a turn);
A2 eager start from the stream; A3 predicted at message arrival; A4 = A3 + result
speculation (the tool's `speculative_result` knows the result of the call it predicted).
A prediction hits with the sweep's hit rate (a miss guesses other arguments).

Bounds per turn (d decision, t tool, a answer, n calls):
  A0: d + n·t + a;  A1: d + t + a;  A2: max(d, 0.8d + t) + a;
  A3: hit max(d, t) + a, miss as A2;  A4: hit max(d + a, t), miss as A2.

A bound also counts the fixed cost of a turn's three HTTP round trips through the SDK,
measured in the same run as a zero-latency turn. Times run scaled by --scale (default
0.25) and are reported unscaled.

Turns run one after another. Usage:
  .venv/bin/python bench/agent.py [--samples 10] [--sweep-samples 5] [--scale 0.25] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import threading
import time
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cairn.agent import SEQUENTIAL, Agent, AgentOptions, Answer, Guess, Tool, ToolContext
from cairn.llm import OpenAIModel, user

ARMS = {
    "A0 sequential": SEQUENTIAL,
    "A1 parallel": AgentOptions(eager=False, predict=False, speculate_results=False),
    "A2 eager": AgentOptions(predict=False, speculate_results=False),
    "A3 predicted": AgentOptions(speculate_results=False),
    "A4 +results": AgentOptions(),
}


@dataclass(frozen=True)
class Profile:
    decision: float
    tool: float
    answer: float
    calls: int = 1  # tool calls the model makes in its one tool-calling step


class FakeOpenAI:
    """Chat Completions streaming with the latency profile named by the request's model
    (`p<index>`): a tool call when the last message is the user's, else the answer."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.profiles: list[Profile] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.answer(self, body)

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # every arm's turns connect at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, h: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        profile = self.profiles[int(body["model"][1:])]
        started = time.perf_counter()
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}

        def send(delta: dict[str, Any], finish: str | None = None) -> None:
            data = base | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            raw = f"data: {json.dumps(data)}\n\n".encode()
            h.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            h.wfile.flush()

        def until(t: float) -> None:
            delay = started + t * self.scale - time.perf_counter()
            if delay > 0:
                time.sleep(delay)

        send({"role": "assistant", "content": ""})
        last = body["messages"][-1]
        if last["role"] == "user":
            query = last["content"].split("about ", 1)[1]
            for i in range(profile.calls):
                call = {"index": i, "id": f"call_{i}", "type": "function"}
                send({"tool_calls": [call | {"function": {"name": "lookup", "arguments": ""}}]})
            until(profile.decision * 0.8)
            for i in range(profile.calls):
                args = json.dumps({"q": f"{query}-{i}"})
                send({"tool_calls": [{"index": i, "function": {"arguments": args}}]})
            until(profile.decision)
            send({}, "tool_calls")
        else:
            words = 20
            for i in range(words):
                until(profile.answer * (i + 1) / words)
                send({"content": f"w{i} "})
            send({}, "stop")
        usage = {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}
        raw = f"data: {json.dumps(base | {'choices': [], 'usage': usage})}\n\n".encode()
        h.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        done = b"data: [DONE]\n\n"
        h.wfile.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")
        h.wfile.flush()


FLOOR = 0.0  # unscaled seconds, set by main()


def bound(arm: str, p: Profile, hit: bool) -> float:
    return FLOOR + _analytic(arm, p, hit)


def _analytic(arm: str, p: Profile, hit: bool) -> float:
    d, t, a = p.decision, p.tool, p.answer
    eager = max(d, 0.8 * d + t) + a
    if arm.startswith("A0"):
        return d + p.calls * t + a
    if arm.startswith("A1"):
        return d + t + a
    if arm.startswith("A2") or not hit:
        return eager
    if arm.startswith("A3"):
        return max(d, t) + a
    return max(d + a, t)


class Predict:
    def __init__(self, guesses: list[str]) -> None:
        self.guesses = guesses

    def predict(self, message: str) -> list[Guess]:
        return [Guess("lookup", {"q": g}) for g in self.guesses]


def prepare(
    fake: FakeOpenAI, model: OpenAIModel, arm: str, p: Profile, hit: bool, n: int
) -> tuple[Agent, str]:
    """An agent for one turn on `model` (one SDK client per arm, built ahead: a client
    costs ~30 ms of CPU to build, and a server keeps its client and connections)."""
    query = f"disk-{n}"
    guessed = [f"{query}-{i}" if hit else f"other-{n}-{i}" for i in range(p.calls)]

    async def lookup(args: dict[str, Any], ctx: ToolContext) -> str:
        await asyncio.sleep(p.tool * fake.scale)
        return f"result for {args['q']}"

    def known(args: dict[str, Any]) -> str | None:  # a predicted call's result is cached
        return f"result for {args['q']}" if args["q"] in guessed else None

    tool = Tool(
        "lookup",
        "look something up",
        lookup,
        {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        speculative_result=known,
    )
    options = ARMS[arm]
    if p.calls > 1 and options.max_speculative < p.calls:
        options = replace(options, max_speculative=p.calls)
    agent = Agent(model, [tool], predictors=[Predict(guessed)], options=options)
    return agent, f"tell me about {query}"


async def one_turn(agent: Agent, message: str, scale: float) -> tuple[float, int, int]:
    started = time.perf_counter()
    answer = None
    async for event in agent.run([user(message)]):
        if isinstance(event, Answer):
            answer = event
    took = (time.perf_counter() - started) / scale
    assert answer is not None and answer.text.startswith("w0"), answer
    return took, agent.stats.wasted_runs, agent.stats.wasted_tokens


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


async def cell(
    fake: FakeOpenAI, p: Profile, rate: float, samples: int, seed: int
) -> dict[str, dict[str, float]]:
    """Each arm's turns, one after another (turns run together would time each other's
    request handling), on one client per arm."""
    fake.profiles.append(p)
    index = len(fake.profiles) - 1
    hits = [i < round(rate * samples) for i in range(samples)]
    random.Random(seed).shuffle(hits)
    models = {arm: OpenAIModel(f"p{index}", base_url=fake.url, max_retries=0) for arm in ARMS}
    for model in models.values():
        model._sdk()  # built before the clock starts
    jobs = [
        (arm, hit, prepare(fake, models[arm], arm, p, hit, n))
        for arm in ARMS
        for n, hit in enumerate(hits)
    ]
    results = []
    for arm in ARMS:
        for name, _, (agent, message) in jobs:
            if name == arm:
                results.append(await one_turn(agent, message, fake.scale))
    out: dict[str, dict[str, float]] = {}
    for arm in ARMS:
        rows = [(r, hit) for (a, hit, _), r in zip(jobs, results, strict=True) if a == arm]
        took = [r[0] for r, _ in rows]
        bounds = [bound(arm, p, hit) for _, hit in rows]
        out[arm] = {
            "p50": statistics.median(took),
            "p95": pct(took, 0.95),
            "bound": statistics.median(bounds),
            "wasted_runs": sum(r[1] for r, _ in rows),
            "wasted_tokens": sum(r[2] for r, _ in rows),
        }
    return out


def recorder_cost(n: int) -> None:
    """What the debug recorder adds per tool call: `RecorderTracer.tool` on a real
    recorder (SQLite, background writer) against the no-op tracer, p50 over n calls."""
    import tempfile

    from cairn.agent import RecorderTracer
    from cairn.llm.recorder import Recorder, RecordStore
    from cairn.store import SQLiteKV

    record = {
        "kind": "tool",
        "tool": "lookup",
        "arguments": '{"q":"disk-1"}',
        "speculative": True,
        "source": "rules",
        "outcome": "claimed",
        "started": 0.0,
        "seconds": 0.25,
        "error": None,
    }
    with tempfile.TemporaryDirectory() as tmp:
        recorder = Recorder(RecordStore(SQLiteKV(Path(tmp) / "debug.db")), close_store=True)
        tracer = RecorderTracer(recorder)
        samples, baseline = [], []
        with recorder.run("agent_turn", title="bench"):
            for _ in range(n):
                t0 = time.perf_counter()
                tracer.tool(record)
                t1 = time.perf_counter()
                _noop(record)
                baseline.append(time.perf_counter() - t1)
                samples.append(t1 - t0)
        recorder.close()
    p50, base = statistics.median(samples) * 1e6, statistics.median(baseline) * 1e6
    print(f"recorder: {p50:.1f} µs p50 per tool call recorded (no-op tracer {base:.2f} µs),")
    print(f"  p95 {pct(samples, 0.95) * 1e6:.1f} µs, over {n} calls (target p50 < 1 ms)")


def _noop(record: dict[str, Any]) -> None:
    pass


def table(title: str, p: Profile, rate: float, res: dict[str, dict[str, float]]) -> list[str]:
    lines = [
        f"{title}: decision {p.decision} s, tool {p.tool} s, answer {p.answer} s, hit rate {rate}",
        f"  {'arm':<14}{'p50 s':>8}{'p95 s':>8}{'vs A0':>8}{'bound':>8}{'vs bound':>10}"
        f"{'wasted runs':>13}{'tokens':>8}",
    ]
    base = res["A0 sequential"]["p50"]
    for arm, r in res.items():
        lines.append(
            f"  {arm:<14}{r['p50']:>8.2f}{r['p95']:>8.2f}{r['p50'] / base:>8.2f}"
            f"{r['bound']:>8.2f}{r['p50'] / r['bound']:>10.3f}{r['wasted_runs']:>13.0f}"
            f"{r['wasted_tokens']:>8.0f}"
        )
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=10, help="turns per arm (profiles)")
    parser.add_argument("--sweep-samples", type=int, default=5, help="turns per arm (sweep)")
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--quick", action="store_true", help="incident.io's profile only")
    args = parser.parse_args()
    fake = FakeOpenAI(args.scale)
    began = time.perf_counter()
    await cell(fake, Profile(0.2, 0.2, 0.2), 0.5, 2, 0)  # warm up: imports, first requests
    # The fixed cost of a turn's HTTP round trips through the SDK (a zero-latency turn),
    # measured here: a bound is the analytic time plus this floor.
    zero = Profile(0.0, 0.0, 0.0)
    floor = (await cell(fake, zero, 0.0, args.samples, 0))["A0 sequential"]
    global FLOOR
    FLOOR = floor["p50"]
    print(f"floor: a zero-latency turn takes {FLOOR * fake.scale * 1000:.0f} ms (real time)\n")
    incident = Profile(1.5, 3.0, 2.0)
    res = await cell(fake, incident, 0.6, args.samples, 1)
    for line in table("incident.io's profile", incident, 0.6, res):
        print(line)
    a0 = res["A0 sequential"]["p50"]
    cut3 = 1 - res["A3 predicted"]["p50"] / a0
    cut4 = 1 - res["A4 +results"]["p50"] / a0
    print(f"  p50 cut: A3 {cut3:.0%} (target >= 20%), A4 {cut4:.0%} (target >= 45%)")
    worst = max(abs(r["p50"] / r["bound"] - 1) for r in res.values())
    print(f"  largest distance from a bound: {worst:.1%} (target <= 10%)")
    two = Profile(1.5, 3.0, 2.0, calls=2)
    res = await cell(fake, two, 0.6, args.samples, 3)
    print()
    for line in table("the same with two tool calls a turn (A1 runs them together)", two, 0.6, res):
        print(line)
    print()
    recorder_cost(args.samples * 200)
    if not args.quick:
        print()
        overheads = []
        for rate in (0.0, 0.3, 0.6, 0.8, 1.0):
            for tool in (0.2, 2.0):
                for decision in (0.5, 2.0):
                    p = Profile(decision, tool, 1.0)
                    res = await cell(fake, p, rate, args.sweep_samples, 2)
                    for line in table("sweep", p, rate, res):
                        print(line)
                    if rate == 0.0:  # guesses that all miss, against the same arm without
                        base = res["A2 eager"]["p50"]
                        for arm in ("A3 predicted", "A4 +results"):
                            extra = res[arm]["p50"] - base
                            overheads.append((arm, p, extra, res[arm]["p50"] / base))
        print()
        print("hit rate 0: what guessing costs, p50 against A2 (no guesses) in the same cell")
        print("(target <= 2 % or <= 20 ms; times unscaled):")
        for arm, p, extra, ratio in overheads:
            ok = "ok" if extra <= 0.020 or ratio <= 1.02 else "over"
            print(
                f"  {arm:<14} d {p.decision} t {p.tool}: {extra * 1000:+7.1f} ms"
                f" ({ratio - 1:+.1%}) {ok}"
            )
    print(f"\ntotal {time.perf_counter() - began:.0f} s; scale {args.scale}")


if __name__ == "__main__":
    asyncio.run(main())
