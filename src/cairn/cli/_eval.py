"""`cairn eval`: the copilot's offline evaluation over a directory of runbooks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._app import app
from ._llm import debug_option
from ._params import Count
from ._settings import common_options

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..copilot import ContextCell, Judge, Predict
    from ..copilot import EvalMemory as Memory
    from ..llm import Model

DEFAULT_ARMS = "baseline,learning,retrieval"
MODEL_ARMS = frozenset({"baseline", "learning"})
MEMORY_ARMS = frozenset({"learning", "retrieval"})


@app.command("eval")
@click.argument("datasets", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "-m", "spec", help="provider:model (default: cairn.toml, else local).")
@click.option(
    "--arms", default=DEFAULT_ARMS, show_default=True, help="Comma-separated arms to run."
)
@click.option("--json", "as_json", is_flag=True, help="The full report as JSON.")
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write accuracy vs examples seen to this PNG.",
)
@click.option("--force", is_flag=True, help="Replace a read-only --plot file too.")
@click.option("--limit", type=Count(1, 1_000_000), help="Use only the first N runbooks.")
@click.option(
    "--embedder",
    type=click.Choice(["local", "hash"]),
    default="local",
    show_default=True,
    help="Embedder for retrieving examples.",
)
@click.option(
    "--judge",
    "judge_spec",
    metavar="PROVIDER:MODEL",
    help="Also ask this model whether each inexact prediction does the same thing.",
)
@click.option(
    "--candidates",
    "with_candidates",
    is_flag=True,
    help="Put every case's ranked candidates and their features in the JSON report"
    " (what eval/fit_ranker.py fits the ranker on).",
)
@debug_option
@common_options
def eval_command(
    datasets: tuple[Path, ...],
    spec: str | None,
    arms: str,
    as_json: bool,
    plot_path: Path | None,
    force: bool,
    limit: int | None,
    embedder: str,
    judge_spec: str | None,
    with_candidates: bool,
    debug: bool | None,
) -> int:
    """Replay the runbooks of each DATASET in file-name order and score each arm's
    prediction of every code cell (exact match, argument distance). Several datasets
    are evaluated one after the other (each learns from nothing), and --plot draws
    their learning curves side by side."""
    from ..copilot import format_table, load_dataset, parse_arms, plot, run_eval

    chosen = parse_arms(arms)
    loaded = [(path, load_dataset(path, limit=limit)) for path in datasets]  # all, first
    predict = _predictor(spec, debug, with_candidates) if MODEL_ARMS.intersection(chosen) else None
    memory = _memory_factory(embedder) if MEMORY_ARMS.intersection(chosen) else None
    reports = []
    for path, runbooks in loaded:
        report = run_eval(
            runbooks,
            predict=predict,
            make_memory=memory,
            arms=chosen,
            judge=_judge(judge_spec, debug) if judge_spec else None,
            progress=_progress if sys.stderr.isatty() else None,
            retrieve=_pipeline(None, with_candidates),
        )
        reports.append((path.name or str(path), report))
    if as_json:
        data = (
            reports[0][1].to_json()
            if len(reports) == 1
            else {"datasets": [{"name": n, "report": r.to_json()} for n, r in reports]}
        )
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for name, report in reports:
            if len(reports) > 1:
                print(f"== {name}")
            sys.stdout.write(format_table(report))
    if plot_path is not None:  # after the report: a bad path must not lose the results
        plot(reports if len(reports) > 1 else reports[0][1], plot_path, force=force)
        print(f"cairn: plot written to {plot_path}", file=sys.stderr)
    return 0


def _predictor(spec: str | None, debug: bool | None, with_candidates: bool) -> Predict:
    """The suggestion pipeline with the model (every call recorded unless switched off)."""
    from ._llm import open_for_use

    return _pipeline(open_for_use(spec, "eval", debug), with_candidates)


def _pipeline(model: Model | None, with_candidates: bool) -> Predict:
    """A predictor that runs the one suggestion pipeline (`copilot.next_cells`); without
    a memory (the baseline arm) it is the model alone."""
    from ..copilot import Prediction, SuggestError, next_cells
    from ..llm import run_sync

    def predict(context: Sequence[ContextCell], memory: Memory | None) -> Prediction:
        try:
            outcome = run_sync(
                next_cells(model, context, len(context), memory=memory, runbook=memory is not None)
            )
        except SuggestError:
            return Prediction("", source="none", model_cell=False if model is not None else None)
        best = outcome.results[0]
        candidates = tuple(
            {
                "text": r.candidate.text,
                "sources": sorted(r.candidate.sources),
                "features": r.features,
                "score": r.score,
            }
            for r in outcome.ranked
        )
        return Prediction(
            best.cells[0].source,
            source=best.source,
            examples=tuple(e.id for e in outcome.examples),
            latency_ms=outcome.latency_ms,
            model_cell=(outcome.model_text is not None) if model is not None else None,
            candidates=candidates if with_candidates else (),
        )

    return predict


def _judge(spec: str, debug: bool | None) -> Judge:
    from ..copilot import llm_judge
    from ._llm import open_for_use

    return llm_judge(open_for_use(spec, "eval", debug))


def _memory_factory(kind: str) -> Callable[[], Memory]:
    """A fresh, empty example index per arm (in memory), sharing one embedder."""
    from ..copilot import ExampleIndex
    from ..llm import open_embedder
    from ..store import MemoryKV

    embedder = open_embedder(kind)

    def make_memory() -> Memory:
        return ExampleIndex(MemoryKV(), embedder)

    return make_memory


def _progress(arm: str, done: int, total: int) -> None:
    end = "\n" if done == total else ""
    print(f"\r{arm}: {done}/{total} cases", end=end, file=sys.stderr, flush=True)
