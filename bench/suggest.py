"""Copilot benchmark: what a suggestion costs before, around and inside the model.

1. Context assembly + retrieval, as `cairn serve` does it before calling the model
   (embedder and example index loaded once, as in the server):
   read a 200-cell runbook, attach the outputs of its cells from a learning log, build
   the retrieval query, search 10k learned examples (local MiniLM embedder, SQLite store,
   threshold + MMR), and build the prompt counted by the local model's own tokenizer.
   Target: p50 ≤ 50 ms. Baseline (same run): reading and parsing the runbook plus the one
   query embedding that retrieval cannot avoid.
2. The analyzer on 1M synthetic learning-log events (suggestions, acceptances, cell starts
   and executions) into a SQLite store. Target: ≥ 200k events/s. Baseline: decoding every
   line of the same files with `json.loads`. Then the cost of an incremental pass over 1k
   new events, against the full pass and against decoding those 1k lines.
3. End to end: the suggestion pipeline (`prepare_next` + `suggest_next`: recall, adapted
   candidates, the model, ranking) with the bundled local model (Gemma 3 270M, llama.cpp) on this
   machine's cores, model loaded, walking through eval runbooks cell by cell with outputs
   and retrieved examples, the way `cairn serve` answers: the operator asks after reading
   the cell's output (the server prefilled the prompt when the cell exited), asks the
   moment it exits (the prefill is still under way), or the server does not prefill.
   Target: p50 ≤ 1 s. Baseline: llama.cpp's own completion of the same prompt text with
   the same limits, from an empty cache (what the model alone costs).

Usage: .venv/bin/python bench/suggest.py [--examples 10000] [--events 1000000]
       [--suggestions 30] [--skip-local] [--only context|analyzer|local]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cairn.copilot import (
    Analyzer,
    Budget,
    ContextCell,
    Example,
    ExampleIndex,
    OutputPart,
    SuggestError,
    attach_executions,
    cells_from_notebook,
    executions_for,
    load_dataset,
    prepare_next,
    query_text,
    suggest_next,
)
from cairn.copilot import prepare_prompt as prepare
from cairn.copilot import runbook_examples as learn
from cairn.learnlog import CellExecuted, LearningLog, SegmentWriter
from cairn.llm import LocalModel, open_embedder
from cairn.notebook import load
from cairn.store import MemoryKV, SQLiteKV

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "eval" / "runbooks"
SERVICES = ["dispatch-api", "ledger", "routing-worker", "tracker-gateway", "notify", "billing"]
NAMESPACES = ["lf-prod", "lf-staging", "lf-data"]
WINDOWS = ["5m", "15m", "30m", "1h", "2h", "6h"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- 1. context assembly + retrieval ------------------------------------------------------


def _cases() -> list[tuple[str, str]]:
    """(query, cell) of every case of the eval dataset."""
    pairs = []
    for runbook in load_dataset(DATASET):
        for case in runbook.cases():
            pairs.append((query_text(case.context, len(case.context)), case.expected.source))
    return pairs


def _vary(text: str, rng: random.Random) -> str:
    """The same step for another service, namespace and time window."""
    for old in SERVICES:
        text = text.replace(old, rng.choice(SERVICES))
    for old in NAMESPACES:
        text = text.replace(old, rng.choice(NAMESPACES))
    for old in WINDOWS:
        text = text.replace(f"--since={old}", f"--since={rng.choice(WINDOWS)}")
    return text


def _examples(n: int) -> list[Example]:
    rng = random.Random(7)
    cases = _cases()
    out = []
    for i in range(n):
        query, cell = cases[i % len(cases)]
        if i >= len(cases):
            query, cell = _vary(query, rng) + f"\n\n(run {i})", _vary(cell, rng)
        out.append(Example(f"ex-{i:06d}", query, cell, "sh", f"bench#{i}"))
    return out


def _output(rng: random.Random, lines: int) -> str:
    rows = [f"{'NAME':<40} READY   STATUS    RESTARTS   AGE"]
    for _ in range(lines):
        svc = rng.choice(SERVICES)
        suffix = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=5))
        rows.append(f"{svc + '-7f9c' + suffix:<40} 1/1     Running   {rng.randint(0, 9):<10} 3d")
    return "\n".join(rows) + "\n"


def _runbook(path: Path, log_dir: Path, cells: int) -> None:
    """A runbook of `cells` cells (prose and code alternating) whose code cells all ran,
    with their `cell.executed` events in the learning log, beside other notebooks' runs."""
    rng = random.Random(11)
    commands = [cell for _, cell in _cases()]
    parts = ["# Platform incident drill\n\nEvery step of the drill, in order.\n"]
    events = []
    for i in range(cells // 2):
        name = f"step-{i:03d}"
        command = commands[i % len(commands)].strip()
        parts.append(f"Step {i}: check the next part of the system before going on.\n")
        parts.append(f'```sh {{"name":"{name}","id":"01BENCH{i:019d}"}}\n{command}\n```\n')
        big = i % 25 == 24  # a few cells printed a lot: head and tail are kept
        events.append(
            CellExecuted(
                session_id="S-bench",
                notebook_path=str(path.resolve()),
                known_id=f"01BENCH{i:019d}",
                known_name=name,
                language="sh",
                program="bash",
                source=command + "\n",
                interactive=i % 2 == 0,
                exit_code=0 if i % 7 else 1,
                stdout=_output(rng, 2000 if big else 12),
                stderr="" if i % 7 else "Error from server (NotFound): pods not found\n",
            )
        )
    path.write_text("\n".join(parts))
    with LearningLog(log_dir, fsync=False) as log:
        for j in range(5000):  # other notebooks' runs, which the history scan passes over
            log.emit(
                CellExecuted(
                    session_id="S-other",
                    notebook_path=f"/runbooks/other-{j % 50}.md",
                    known_id=f"other-{j}",
                    source="kubectl get pods\n",
                    stdout=_output(rng, 5),
                ),
                wait=False,
            )
        for event in events:
            log.emit(event, wait=False)


def context_bench(n_examples: int, runs: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cairn-bench-suggest-"))
    runbook, log_dir = tmp / "drill.md", tmp / "logs"
    _runbook(runbook, log_dir, 200)
    embedder = open_embedder("local")
    kv = SQLiteKV(tmp / "cairn.db")
    index = ExampleIndex(kv, embedder, batch_size=256)
    start = time.perf_counter()
    index.add(_examples(n_examples))
    print(
        f"setup: {n_examples} examples embedded and stored in {time.perf_counter() - start:.1f} s;"
        f" runbook of {len(load(runbook).cells)} cells; {os.cpu_count()} cores"
    )
    fresh = ExampleIndex(SQLiteKV(tmp / "cairn.db"), embedder)
    start = time.perf_counter()
    fresh.search("kubectl get pods")
    cold_ms = (time.perf_counter() - start) * 1000
    fresh.kv.close()
    model = LocalModel()  # only its tokenizer is loaded here: prepare() calls no model
    cursors = [len(load(runbook).cells) - 2 * (i % 40) for i in range(runs + 3)]

    phases: dict[str, list[float]] = {k: [] for k in ("parse", "outputs", "retrieve", "prompt")}
    totals: list[float] = []
    baseline: list[float] = []
    tokens = cells_in = 0
    rng = random.Random(5)
    for i, cursor in enumerate(cursors):  # the first three warm the tokenizer and caches
        # As between two suggestions, someone ran a cell: its output is in the log.
        with LearningLog(log_dir, fsync=False) as log:
            step = rng.randrange(100)
            log.emit(
                CellExecuted(
                    session_id="S-bench",
                    notebook_path=str(runbook.resolve()),
                    known_id=f"01BENCH{step:019d}",
                    known_name=f"step-{step:03d}",
                    source="kubectl get pods\n",
                    stdout=_output(rng, 20),
                )
            )
        query = query_text(cells_from_notebook(load(runbook)), cursor)
        if i % 2:  # the baseline first every other run: neither profits from going second
            b0 = time.perf_counter()
            embedder.embed([query])
            b1 = time.perf_counter()
        t0 = time.perf_counter()
        nb = load(runbook)
        cells = cells_from_notebook(nb)
        t1 = time.perf_counter()
        cells = attach_executions(cells, executions_for(kv, log_dir, runbook))
        t2 = time.perf_counter()
        examples = index.search(query_text(cells, cursor))
        t3 = time.perf_counter()
        prompt = prepare(model, cells, cursor, examples, budget=Budget())
        t4 = time.perf_counter()
        if not i % 2:
            b0 = time.perf_counter()
            embedder.embed([query])
            b1 = time.perf_counter()
        if i < 3:
            continue
        for key, value in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            phases[key].append(value)
        totals.append(t4 - t0)
        baseline.append(b1 - b0)
        tokens, cells_in = prompt.tokens, prompt.cells_included
    p50, base50 = statistics.median(totals) * 1000, statistics.median(baseline) * 1000
    print(
        f"\n1. context assembly + retrieval: 200-cell runbook, {n_examples} examples, {runs} runs"
    )
    print(f"{'phase':<40} {'p50 ms':>8} {'p95 ms':>8}")
    labels = {
        "parse": "read + parse the runbook",
        "outputs": "outputs (history: 1 new event + lookup)",
        "retrieve": "query + embed + search 10k + MMR",
        "prompt": "prompt (GGUF tokenizer, budgets)",
    }
    for key, values in phases.items():
        print(
            f"{labels[key]:<40} {_pct(values, 0.5) * 1000:>8.2f} {_pct(values, 0.95) * 1000:>8.2f}"
        )
    print(f"{'total':<40} {p50:>8.2f} {_pct(totals, 0.95) * 1000:>8.2f}")
    print(
        f"{'baseline: the query embedding alone':<40} {base50:>8.2f}"
        f" {_pct(baseline, 0.95) * 1000:>8.2f}"
    )
    rest = [t - b for t, b in zip(totals, baseline, strict=True)]
    print(f"{'total minus the embedding':<40} {statistics.median(rest) * 1000:>8.2f}")
    ok = "ok" if p50 <= 50 else "MISSED"
    print(f"ratio total/baseline p50: {p50 / base50:.2f}x   target p50 <= 50 ms: {ok}")
    print(f"(prompt: {tokens} tokens, {cells_in} cells of 200 fit the 2048-token budget)")
    print(
        f"(warm, as `cairn serve` runs it; a new process's first search also loads the"
        f" {n_examples} vectors: {cold_ms:.0f} ms)"
    )
    index.close()
    kv.close()
    shutil.rmtree(tmp, ignore_errors=True)


# -- 2. the analyzer ------------------------------------------------------------------------


def _templates() -> dict[str, str]:
    """One encoded line per event type, as the learning log writes it, with slots."""
    from cairn.learnlog import (
        CellStarted,
        SessionEnded,
        SessionStarted,
        SuggestedCell,
        SuggestionAccepted,
        SuggestionGenerated,
    )

    with LearningLog(Path(tempfile.mkdtemp()), fsync=False) as log:

        def line(event: Any) -> str:
            return log.encode(event).decode()

        gen = SuggestionGenerated(
            session_id="S-@S",
            trace_id="T-@C",
            model="@M",
            notebook_path="/runbooks/@N.md",
            cells=[SuggestedCell(id="@C", language="sh", source="@SRC")],
            latency_ms=412,
        )
        return {
            "session": line(SessionStarted(session_id="S-@S", notebook_path="/runbooks/@N.md")),
            "end": line(SessionEnded(session_id="S-@S", cells_run=8, duration_ms=5120)),
            "generated": line(gen),
            "accepted": line(SuggestionAccepted(session_id="S-@S", trace_id="T-@C", cell_id="@C")),
            "started": line(CellStarted(session_id="S-@S", known_id="@C", language="sh")),
            "executed": line(
                CellExecuted(
                    session_id="S-@S",
                    notebook_path="/runbooks/@N.md",
                    known_id="@C",
                    language="sh",
                    program="bash",
                    source="@SRC",
                    exit_code=0,
                    stdout="NAME                READY   STATUS    RESTARTS   AGE\n"
                    "dispatch-api-7f9c   1/1     Running   0          3d\n",
                )
            ),
        }


def _synthetic(
    count: int, start: int, templates: dict[str, str], *, suggested: float
) -> Iterator[str]:
    """`count` events of sessions of eight cells: session start, then per cell its start
    and execution, the end. A `suggested` share of the cells was suggested first (a
    suggestion event; half of them accepted) and then run as suggested, edited, or not
    at all (one in four)."""
    rng = random.Random(start)
    commands = [f"kubectl --context lf-prod-eu1 -n lf-prod get pods -l app={s}" for s in SERVICES]
    made, session = 0, start

    def make(kind: str, **slots: str) -> str:
        text = templates[kind]
        for key, value in slots.items():
            text = text.replace(key, value)
        return text

    while made < count:
        s, n, m = f"{session:08d}", f"book-{session % 300}", f"local:m{session % 3}"
        lines = [make("session", **{"@S": s, "@N": n})]
        for i in range(8):
            cell = f"C-{s}-{i}"
            src = rng.choice(commands)
            slots = {"@S": s, "@N": n, "@M": m, "@C": cell}
            run = True
            if rng.random() < suggested:
                lines.append(make("generated", **slots, **{"@SRC": src + "\\n"}))
                if rng.random() < 0.5:
                    lines.append(make("accepted", **slots))
                outcome = rng.random()
                run = outcome < 0.75
                if 0.5 <= outcome < 0.75:
                    src += " -o wide"  # edited before it ran
            if run:
                lines.append(make("started", **slots))
                lines.append(make("executed", **slots, **{"@SRC": src + "\\n"}))
        lines.append(make("end", **{"@S": s}))
        yield from lines[: count - made]
        made += len(lines)
        session += 1


def _write_log(log_dir: Path, lines: Iterator[str]) -> int:
    writer = SegmentWriter(log_dir, max_file_bytes=64 << 20, fsync=False)
    written, chunk = 0, []
    try:
        for text in lines:
            chunk.append(text)
            if len(chunk) == 20_000:
                writer.write("".join(chunk).encode())
                written += len(chunk)
                chunk = []
        if chunk:
            writer.write("".join(chunk).encode())
            written += len(chunk)
    finally:
        writer.close()
    return written


def _sizes(log_dir: Path) -> dict[Path, int]:
    from cairn.learnlog import log_paths

    return {path: path.stat().st_size for path in log_paths(log_dir)}


def _decode_all(log_dir: Path, after: dict[Path, int] | None = None) -> int:
    """`json.loads` of every line (after the given file sizes, if any): the baseline."""
    from cairn.learnlog import log_paths

    n = 0
    for path in log_paths(log_dir):
        with open(path, "rb") as f:
            f.seek((after or {}).get(path, 0))
            for line in f:
                json.loads(line)
                n += 1
    return n


def _analyze_mix(events: int, suggested: float) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="cairn-bench-analyze-"))
    log_dir = tmp / "logs"
    templates = _templates()
    written = _write_log(log_dir, _synthetic(events, 0, templates, suggested=suggested))
    size = sum(p.stat().st_size for p in log_dir.glob("*.jsonl"))
    raw = _timed(lambda: _decode_all(log_dir))
    kv = SQLiteKV(tmp / "cairn.db")
    analyzer = Analyzer(kv, log_dir)
    start = time.perf_counter()
    counts = analyzer.run()
    full_s = time.perf_counter() - start
    assert counts.events == written, counts
    before = _sizes(log_dir)
    more = _write_log(log_dir, _synthetic(1000, events, templates, suggested=suggested))
    start = time.perf_counter()
    again = analyzer.run()
    inc_s = time.perf_counter() - start
    assert again.events == more, again
    raw_inc = _timed(lambda: _decode_all(log_dir, before))
    kv.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "events": written,
        "mib": size / 2**20,
        "rate": written / full_s,
        "raw_rate": written / raw,
        "full_ms": full_s * 1000,
        "inc_ms": inc_s * 1000,
        "raw_inc_ms": raw_inc * 1000,
        "suggested": counts.suggested,
        "executed": counts.executed,
    }


def analyzer_bench(events: int) -> None:
    print(f"\n2. analyzer: {events:,} synthetic events into a SQLite store (target >= 200k/s)")
    print(
        f"{'log':<26} {'MiB':>5} {'events/s':>10} {'json.loads/s':>13} {'ratio':>6}"
        f" {'full ms':>8} {'+1k ms':>7} {'ratio':>7} {'1k json ms':>10} {'target':>7}"
    )
    for label, share in (("typical: 1/4 suggested", 0.25), ("every cell suggested", 1.0)):
        r = _analyze_mix(events, share)
        ok = "ok" if r["rate"] >= 200_000 else "MISSED"
        print(
            f"{label:<26} {r['mib']:>5.0f} {r['rate']:>10,.0f} {r['raw_rate']:>13,.0f}"
            f" {r['rate'] / r['raw_rate']:>6.2f} {r['full_ms']:>8.0f} {r['inc_ms']:>7.1f}"
            f" {r['inc_ms'] / r['full_ms']:>7.4f} {r['raw_inc_ms']:>10.1f} {ok:>7}"
        )
        print(f"{'':<26} ({r['suggested']:,} suggested cells, {r['executed']:,} of them run)")


# -- 3. end to end with the local model ------------------------------------------------------


@dataclasses.dataclass
class _Asked:
    first: bool  # the first suggestion in its runbook
    total_ms: float  # retrieve, prompt, decode, parse: what the operator waits for
    prompt_tokens: int
    cached_tokens: int
    reply_tokens: int
    found: bool  # the reply had a code cell
    prefill_ms: float = 0.0  # the background prefill after the run (flows that have one)


def _walk_cases(runs: int) -> list[tuple[bool, list[ContextCell]]]:
    runbooks = load_dataset(DATASET)
    rng = random.Random(3)
    cases: list[tuple[bool, list[ContextCell]]] = []
    for runbook in runbooks[30:]:
        ran = [  # what each cell printed, once: the same cell prints the same in each prompt
            dataclasses.replace(c, exit_code=0, outputs=_outputs(rng)) if c.kind == "code" else c
            for c in runbook.cells
        ]
        for n, case in enumerate(runbook.cases()):
            cases.append((n == 0, ran[: case.index]))
        if len(cases) >= runs + 2:
            break
    return cases[: runs + 2]


def local_bench(runs: int) -> None:
    """Walk through runbooks cell by cell, as an operator does: each suggestion comes after
    the cell before it ran (with its output), in the same server process. The walk is
    made once for each way `cairn serve` can be asked, each from the same starting cache."""
    model = LocalModel()
    embedder = open_embedder("local")
    index = ExampleIndex(MemoryKV(), embedder)
    for runbook in load_dataset(DATASET)[:30]:  # learned from the first 30; walked after
        index.add(learn(runbook))
    cases = _walk_cases(runs)
    loaded = model._load()  # llama.cpp calls run on the model's own thread, as in the server
    llm = loaded.llm

    def prefill(context: list[ContextCell]) -> float:
        """What `cairn serve` does when a cell exits: the next prompt into the cache."""
        start = time.perf_counter()
        model.prefill(prepare_next(model, context, len(context), memory=index).prompt.request)
        return (time.perf_counter() - start) * 1000

    async def ask(first: bool, context: list[ContextCell], mode: str) -> _Asked:
        ahead = 0.0
        worker = None
        if mode == "read":  # the operator reads the output first: the prefill is done
            ahead = prefill(context)
        elif mode == "at-exit":  # asked the moment the cell exits: the prefill is under way
            worker = _Thread(lambda: prefill(context))
        start = time.perf_counter()
        # The whole pipeline, as `cairn serve` answers: recall, adapt, the model, ranking.
        prepared = prepare_next(model, context, len(context), memory=index)
        try:
            suggested = await suggest_next(prepared)
            result = suggested.results[0]
            found = suggested.outcome.model_text is not None
            cached, tokens = result.cached_tokens, result.prompt_tokens
        except SuggestError:  # no candidate at all: the user waited all the same
            found, cached, tokens = False, 0, prepared.prompt.tokens
        total = (time.perf_counter() - start) * 1000
        if worker is not None:
            ahead = worker.join()
        stats = model.last_stats
        reply = stats.completion_tokens if stats is not None else 0
        return _Asked(first, total, tokens, cached, reply, found, ahead)

    def walk(mode: str) -> list[_Asked]:
        loaded.run(llm.reset)

        async def go() -> list[_Asked]:
            return [await ask(first, context, mode) for first, context in cases]

        return asyncio.run(go())[2:]  # the first two warm up

    def baseline() -> list[float]:
        """llama.cpp's own completion of the same prompt text and limits, from an empty
        cache each time: what the model alone costs when nothing was evaluated before."""
        out = []
        for _, context in cases[2:]:
            examples = index.search(query_text(context, len(context)))
            kwargs = model._kwargs(prepare(model, context, len(context), examples).request)

            def complete(kwargs: dict[str, object] = kwargs) -> float:
                llm.reset()
                start = time.perf_counter()
                llm.create_completion(**kwargs)  # type: ignore[arg-type]
                return (time.perf_counter() - start) * 1000

            out.append(loaded.run(complete))
        return out

    flows = {
        "read": walk("read"),
        "at-exit": walk("at-exit"),
        "none": walk("none"),
    }
    bases = baseline()
    print(f"\n3. end to end, local model ({model.name}, llama.cpp, {os.cpu_count()} cores):")
    print(f"{'measure':<60} {'p50 ms':>8} {'p95 ms':>8} {'ratio':>6}")
    base50 = _pct(bases, 0.5)
    rows = [
        ("asked after reading the output (prefilled when the cell exited)", flows["read"]),
        ("asked the moment the cell exits (prefill under way)", flows["at-exit"]),
        ("without prefill (cairn serve --no-prefill)", flows["none"]),
    ]
    for label, asked in rows:
        totals = [a.total_ms for a in asked]
        print(
            f"{label:<60} {_pct(totals, 0.5):>8.0f} {_pct(totals, 0.95):>8.0f}"
            f" {_pct(totals, 0.5) / base50:>5.2f}x"
        )
    for label, want in (("  the first suggestion in a runbook", True), ("  the next ones", False)):
        values = [a.total_ms for a in flows["none"] if a.first == want]
        if values:
            print(f"{label:<60} {_pct(values, 0.5):>8.0f} {_pct(values, 0.95):>8.0f}")
    print(
        f"{'baseline: llama.cpp create_completion, same prompt, empty cache':<60}"
        f" {base50:>8.0f} {_pct(bases, 0.95):>8.0f} {1:>5.2f}x"
    )
    ahead = [a.prefill_ms for a in flows["read"]]
    print(
        f"{'the prefill itself, in the background after the run':<60}"
        f" {_pct(ahead, 0.5):>8.0f} {_pct(ahead, 0.95):>8.0f}"
    )
    none = flows["none"]
    rate = loaded.run(lambda: _decode_rate(llm))
    reply50 = statistics.median([a.reply_tokens for a in none])
    fresh = statistics.median([a.prompt_tokens - a.cached_tokens for a in none])
    print(
        f"prompt tokens p50 {statistics.median([a.prompt_tokens for a in none]):.0f}, of which"
        f" read anew without prefill p50 {fresh:.0f}; reply tokens p50 {reply50:.0f}"
        f" (plain decoding at {rate:.0f} tokens/s: {1000 * reply50 / rate:.0f} ms);"
        f" {sum(not a.found for a in none)} of {len(none)} replies without a code cell"
    )
    for label, asked in rows[:2]:
        p50 = _pct([a.total_ms for a in asked], 0.5)
        print(f"target p50 <= 1000 ms, {label}: {'ok' if p50 <= 1000 else 'MISSED'} ({p50:.0f})")


class _Thread:
    """A function run in a thread, joined for its result."""

    def __init__(self, fn: Callable[[], float]) -> None:
        import threading

        self._result = 0.0

        def run() -> None:
            self._result = fn()

        self._thread = threading.Thread(target=run)
        self._thread.start()

    def join(self) -> float:
        self._thread.join()
        return self._result


def _decode_rate(llm: Any) -> float:
    """Tokens per second after the first, streaming a reply that runs to its limit."""
    prompt = "Count from one to one hundred in words: one, two, three,"
    llm.reset()
    first = end = 0.0
    tokens = 0
    for _ in llm.create_completion(prompt=prompt, max_tokens=64, temperature=0, stream=True):
        end = time.perf_counter()
        if not first:
            first = end
        tokens += 1
    return (tokens - 1) / (end - first) if tokens > 1 and end > first else float("nan")


def _outputs(rng: random.Random) -> tuple[OutputPart, ...]:
    return (OutputPart("stdout", _output(rng, rng.randint(2, 8))),)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--context-runs", type=int, default=40)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--suggestions", type=int, default=30)
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument(
        "--only",
        choices=["context", "analyzer", "local"],
        help="run one section (1: context, 2: analyzer, 3: local model)",
    )
    args = parser.parse_args()
    if args.only in (None, "context"):
        context_bench(args.examples, args.context_runs)
    if args.only in (None, "analyzer"):
        analyzer_bench(args.events)
    if args.only == "local" or (args.only is None and not args.skip_local):
        local_bench(args.suggestions)


if __name__ == "__main__":
    main()
