"""Debug recorder benchmark: what recording adds to a model call, and how fast the local
model answers on this machine.

1. Overhead: the same OpenAI-compatible call (real `openai` SDK, fake server in another
   process on 127.0.0.1, so it does not share our GIL) made unrecorded and recorded into a
   SQLite store, interleaved call by call; p50/p99 latency of each and the difference.
   Target: < 1 ms added at p50. Also the time to write the records (flush), which the
   background writer does off the caller's path.
2. Local model: time to first token and decode speed of the bundled Gemma 3 270M GGUF
   through llama.cpp, streamed, on however many cores this machine has.

Usage: .venv/bin/python bench/recorder.py [--calls 300] [--local-runs 5] [--skip-local]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cairn.llm import LocalModel, OpenAIModel, Options, Request, TextDelta, UsageEvent, user
from cairn.llm.recorder import Recorder, RecordStore
from cairn.store import SQLiteKV

ROOT = Path(__file__).resolve().parent.parent
SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.llm.fake_openai import FakeOpenAI
fake = FakeOpenAI()
print(fake.base_url, flush=True)
sys.stdin.read()
"""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def overhead(calls: int, stream: bool) -> dict[str, float]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    tmp = Path(tempfile.mkdtemp(prefix="cairn-bench-rec-"))
    recorder = Recorder(RecordStore(SQLiteKV(tmp / "debug.db", durable=False)), close_store=True)
    plain = OpenAIModel("gpt-4o-mini", base_url=url, api_key="sk-bench")
    recorded = recorder.wrap(OpenAIModel("gpt-4o-mini", base_url=url, api_key="sk-bench"))
    request = Request((user("How full is the disk on db-1?"),))

    async def once(model: object) -> float:
        start = time.perf_counter()
        if stream:
            async for _ in model.stream(request):  # type: ignore[attr-defined]
                pass
        else:
            await model.generate(request)  # type: ignore[attr-defined]
        return time.perf_counter() - start

    async def go() -> tuple[list[float], list[float]]:
        for _ in range(20):  # warm up: SDK import, connections, caches
            await once(plain)
            await once(recorded)
        a: list[float] = []
        b: list[float] = []
        for i in range(calls):
            first, second = (plain, recorded) if i % 2 else (recorded, plain)
            t1, t2 = await once(first), await once(second)
            a.append(t1 if first is plain else t2)
            b.append(t2 if first is plain else t1)
        return a, b

    try:
        unrecorded, recorded_times = asyncio.run(go())
        start = time.perf_counter()
        recorder.flush()
        flush_s = time.perf_counter() - start
        steps = sum(1 for _ in recorder.store.runs())
    finally:
        recorder.close()
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()
    diffs = [r - u for r, u in zip(recorded_times, unrecorded, strict=True)]
    return {
        "u50": _pct(unrecorded, 0.5) * 1000,
        "u99": _pct(unrecorded, 0.99) * 1000,
        "r50": _pct(recorded_times, 0.5) * 1000,
        "r99": _pct(recorded_times, 0.99) * 1000,
        "added50": (_pct(recorded_times, 0.5) - _pct(unrecorded, 0.5)) * 1000,
        "added99": (_pct(recorded_times, 0.99) - _pct(unrecorded, 0.99)) * 1000,
        "pair50": statistics.median(diffs) * 1000,
        "flush_ms": flush_s * 1000,
        "runs": steps,
    }


def local(runs: int) -> dict[str, float]:
    model = LocalModel()
    request = Request(
        (user("Write a short shell script that checks disk usage and reports big folders."),),
        options=Options(max_tokens=64, temperature=0.0),
    )

    async def once() -> tuple[float, float, int]:
        start = time.perf_counter()
        first = None
        tokens = 0
        async for event in model.stream(request):
            if isinstance(event, TextDelta) and first is None:
                first = time.perf_counter()
            elif isinstance(event, UsageEvent):
                tokens = event.usage.output_tokens
        end = time.perf_counter()
        if first is None:
            raise SystemExit("the local model produced no text for the benchmark prompt")
        return first - start, end - first, tokens

    asyncio.run(once())  # load the model
    results = [asyncio.run(once()) for _ in range(runs)]
    ttft = [r[0] for r in results]
    rates = [(r[2] - 1) / r[1] for r in results if r[1] > 0 and r[2] > 1]
    return {
        "ttft50": statistics.median(ttft) * 1000,
        "ttft_max": max(ttft) * 1000,
        "tok_s": statistics.median(rates) if rates else 0.0,
        "tokens": statistics.median([r[2] for r in results]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--local-runs", type=int, default=5)
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    print(f"debug recorder overhead: {args.calls} interleaved call pairs, {os.cpu_count()} cores")
    print(
        f"{'call':<10} {'unrecorded p50/p99 ms':>22} {'recorded p50/p99 ms':>20}"
        f" {'added p50 ms':>13} {'added p99 ms':>13} {'paired Δ p50':>13} {'ratio p50':>10}"
        f" {'target':>8}"
    )
    for stream in (False, True):
        r = overhead(args.calls, stream)
        ok = "ok" if r["added50"] < 1.0 else "MISSED"
        print(
            f"{'stream' if stream else 'generate':<10}"
            f" {r['u50']:>10.2f} / {r['u99']:>8.2f}  {r['r50']:>9.2f} / {r['r99']:>8.2f}"
            f" {r['added50']:>13.3f} {r['added99']:>13.3f} {r['pair50']:>13.3f}"
            f" {r['r50'] / r['u50']:>10.3f} {'<1 ms ' + ok:>8}"
        )
        print(f"{'':<10} writer: {int(r['runs'])} runs on disk; final flush {r['flush_ms']:.1f} ms")
    if args.skip_local:
        return
    lr = local(args.local_runs)
    print(f"\nlocal model (gemma-3-270m Q4_K_M, llama.cpp, {os.cpu_count()} cores), streamed:")
    print(f"{'time to first token p50':<28} {lr['ttft50']:8.1f} ms (max {lr['ttft_max']:.1f})")
    print(f"{'decode speed p50':<28} {lr['tok_s']:8.1f} tokens/s ({lr['tokens']:.0f} tokens)")


if __name__ == "__main__":
    main()
