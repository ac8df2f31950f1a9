"""`cairn eval`: the copilot's offline evaluation over a directory of runbooks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._app import app
from ._params import Count
from ._settings import common_options, settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..copilot._eval import Judge, Memory, Predict

DEFAULT_ARMS = "baseline,learning,retrieval"
MODEL_ARMS = frozenset({"baseline", "learning"})
MEMORY_ARMS = frozenset({"learning", "retrieval"})


@app.command("eval")
@click.argument("dataset", type=click.Path(path_type=Path))
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
@common_options
def eval_command(
    dataset: Path,
    spec: str | None,
    arms: str,
    as_json: bool,
    plot_path: Path | None,
    force: bool,
    limit: int | None,
    embedder: str,
    judge_spec: str | None,
) -> int:
    """Replay the runbooks of DATASET in file-name order and score each arm's
    prediction of every code cell (exact match, argument distance)."""
    from ..copilot._dataset import load_dataset
    from ..copilot._eval import format_table, parse_arms, plot, run_eval

    chosen = parse_arms(arms)
    runbooks = load_dataset(dataset, limit=limit)
    report = run_eval(
        runbooks,
        predict=_predictor(spec) if MODEL_ARMS.intersection(chosen) else None,
        make_memory=_memory_factory(embedder) if MEMORY_ARMS.intersection(chosen) else None,
        arms=chosen,
        judge=_judge(judge_spec) if judge_spec else None,
        progress=_progress if sys.stderr.isatty() else None,
    )
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(format_table(report))
    if plot_path is not None:  # after the report: a bad path must not lose the results
        plot(report, plot_path, force=force)
        print(f"cairn: plot written to {plot_path}", file=sys.stderr)
    return 0


def _predictor(spec: str | None) -> Predict:
    """The model's prediction of the next cell."""
    from functools import partial

    from ..copilot._suggest import predict_cell
    from ..llm._config import load_config, open_model

    model = open_model(spec, load_config(settings().resolved_config_dir()))
    return partial(predict_cell, model)


def _judge(spec: str) -> Judge:
    from ..copilot._judge import llm_judge
    from ..llm._config import load_config, open_model

    return llm_judge(open_model(spec, load_config(settings().resolved_config_dir())))


def _memory_factory(kind: str) -> Callable[[], Memory]:
    """A fresh, empty example index per arm (in memory), sharing one embedder."""
    from ..copilot._examples import ExampleIndex
    from ..index import open_embedder
    from ..store import MemoryKV

    embedder = open_embedder(kind)

    def make_memory() -> Memory:
        return ExampleIndex(MemoryKV(), embedder)

    return make_memory


def _progress(arm: str, done: int, total: int) -> None:
    end = "\n" if done == total else ""
    print(f"\r{arm}: {done}/{total} cases", end=end, file=sys.stderr, flush=True)
