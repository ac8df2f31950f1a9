"""`cairn suggest`: the next cell(s) of a runbook, ranked; `--accept` inserts one.

Parsing and printing only: the suggestion is `cairn.copilot`'s `prepare_next` and
`suggest_next`, the same calls `POST /v1/suggest` makes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._app import app
from ._llm import debug_option, flush_recording, open_for_use
from ._params import Count, Finite
from ._progress import spinner
from ._settings import common_options, settings

if TYPE_CHECKING:
    from ..copilot import Memory, Prepared, SuggestResult
    from ..llm import Model
    from ..notebook import Notebook
    from ..store import KV


def _cursor(nb: Notebook, after: str | None, path: Path) -> int:
    """How many cells come before the suggestion: after CELL, else at the end."""
    from ..copilot import SuggestError
    from ..notebook import find_cell

    if after is None:
        return len(nb.cells)
    if after.isdigit():  # a position: after the N-th code cell (1-based)
        code = nb.code_cells()
        n = int(after)
        if not 1 <= n <= len(code):
            raise SuggestError(f"{path}: --after {n}: the runbook has {len(code)} code cells")
        return nb.cells.index(code[n - 1]) + 1
    return nb.cells.index(find_cell(nb, after, str(path))) + 1


def _prepare(
    model: Model,
    file: Path,
    nb: Notebook,
    cursor: int,
    store: str | None,
    outputs: bool,
    examples: bool,
) -> Prepared:
    """The suggestion's context: the outputs from the learning log (kept up to date in
    the store) and the learned examples (no embedder is loaded when none were learned)."""
    from ..copilot import cells_from_notebook, open_memory, prepare_next
    from ..store import open_store

    cells = cells_from_notebook(nb)
    if not outputs and not examples:
        return prepare_next(model, cells, cursor, notebook=file)
    # An explicit --store must exist: suggesting only reads it (a typo is not a new store).
    config_dir = settings().resolved_config_dir()  # the store's default place
    kv: KV = open_store(store, must_exist=store is not None, config_dir=config_dir)
    try:
        memory: Memory | None = open_memory(kv) if examples else None
        return prepare_next(
            model,
            cells,
            cursor,
            notebook=file,
            store=kv if outputs else None,
            log_dir=settings().resolved_config_dir() / "logs",
            memory=memory,
        )
    finally:
        kv.close()


def _insert(path: Path, nb: Notebook, cursor: int, result: SuggestResult, force: bool) -> str:
    """Insert the chosen suggestion's code cell (with its id) atomically; its id."""
    from ..notebook import insert_code_cell, serialize, write_atomic

    code = next(c for c in result.cells if c.kind == "code")
    insert_code_cell(nb, cursor, code.source, code.language, code.id)
    write_atomic(path, serialize(nb), force=force)
    return code.id


@app.command("suggest")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--after", "after", help="Suggest after this cell (name, id, or N-th code cell).")
@click.option(
    "--n",
    "n",
    type=click.IntRange(1, 5),
    default=1,
    show_default=True,
    help="Distinct suggestions.",
)
@click.option("--json", "as_json", is_flag=True, help="The suggestions as JSON.")
@click.option(
    "--accept",
    "accept",
    type=Count(1, 5),
    is_flag=False,
    flag_value=1,
    default=None,
    help="Insert suggestion K (default 1) into FILE, with an id, if it is good enough.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Show (and with --accept, insert) suggestions below the confidence threshold;"
    " with --accept, write into a read-only FILE too.",
)
@click.option("--model", "-m", "spec", help="provider:model (default: cairn.toml, else local).")
@click.option(
    "--timeout",
    type=Finite(0.1, 3600),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the model.",
)
@click.option("--no-outputs", is_flag=True, help="Leave out the outputs of executed cells.")
@click.option("--no-examples", is_flag=True, help="Do not retrieve learned examples.")
@click.option("--store", help="Store of learned examples and outputs (default: the config dir's).")
@debug_option
@common_options
def suggest_command(
    file: Path,
    after: str | None,
    n: int,
    as_json: bool,
    accept: int | None,
    force: bool,
    spec: str | None,
    timeout: float,
    no_outputs: bool,
    no_examples: bool,
    store: str | None,
    debug: bool | None,
) -> int:
    """Suggest the next cell(s) of FILE from its cells, their latest outputs and what was
    learned: candidates from learned examples, the runbook and the model, ranked. A
    suggestion below the confidence threshold is not shown (see --force)."""
    from .. import learnlog
    from ..copilot import SuggestError, accepted_event, generated_event, suggest_next
    from ..llm import run_sync
    from ..notebook import load

    nb = load(file)
    cursor = _cursor(nb, after, file)
    with spinner("cairn: reading outputs and learned examples…") as say:
        model = open_for_use(spec, "suggestion", debug)
        prepared = _prepare(model, file, nb, cursor, store, not no_outputs, not no_examples)
        for warning in prepared.warnings:
            print(f"cairn: warning: {warning}", file=sys.stderr)
        settings().open_learning_log()  # configures the log unless --no-learning-logs
        say(f"cairn: asking {model.provider}:{model.name}…")
        try:
            suggested = run_sync(suggest_next(prepared, n=n, timeout=timeout))
        finally:
            flush_recording(model, announce=debug is True)
    results = suggested.results
    for result in results:
        learnlog.emit(
            generated_event(result, notebook_path=file, after_cell_id=prepared.after_cell_id)
        )
    if suggested.model_failure is not None:  # the other candidates are all there is
        print(f"cairn: the model proposed nothing: {suggested.model_failure}", file=sys.stderr)
    if accept is not None:
        if accept > len(results):
            raise SuggestError(
                f"--accept {accept}: only {len(results)} distinct suggestion(s) were found"
            )
        chosen = results[accept - 1]
        _refuse_unless_good_enough(chosen, accept, force)
        cell_id = _insert(file, nb, cursor, chosen, force)
        learnlog.emit(accepted_event(chosen, cell_id))
    if as_json:
        _print_json(results)
    else:
        _print(results, confident=suggested.confident, force=force)
    if len(results) < n:
        print(
            f"cairn: found {len(results)} distinct suggestion{'s' if len(results) != 1 else ''}"
            f" of the {n} asked for",
            file=sys.stderr,
        )
    if accept is not None:
        print(f"cairn: inserted suggestion {accept}", file=sys.stderr)
    return 0


def _refuse_unless_good_enough(result: SuggestResult, k: int, force: bool) -> None:
    from ..copilot import THRESHOLD, SuggestError, good_enough, source_name

    if force or good_enough(result):
        return
    raise SuggestError(
        f"suggestion {k} (from {source_name(result.source)}) has confidence"
        f" {result.confidence:.2f}, below {THRESHOLD:.2f}: not inserted"
        " (--force inserts it anyway)"
    )


def _print_json(results: list[SuggestResult]) -> None:
    from ..copilot import good_enough

    print(
        json.dumps(
            [
                {
                    "trace_id": r.trace_id,
                    "model": r.model,
                    "latency_ms": r.latency_ms,
                    "source": r.source,
                    "sources": list(r.sources),
                    "confidence": round(r.confidence, 4),
                    "confident": good_enough(r),
                    "cells": [c.__dict__ for c in r.cells],
                }
                for r in results
            ],
            indent=2,
        )
    )


def _print(results: list[SuggestResult], *, confident: bool, force: bool) -> None:
    """The suggestions as Markdown; none when the best is not good enough (unless
    forced), and then a plain line that says so."""
    from ..copilot import good_enough, not_good_enough, source_name

    if not confident and not force:
        print(f"cairn: {not_good_enough(results[0])}; --force shows it", file=sys.stderr)
        return
    for i, result in enumerate(results, 1):
        if len(results) > 1 or not good_enough(result):
            below = "" if good_enough(result) else ", below the threshold"
            print(
                f"--- suggestion {i} (from {source_name(result.source)},"
                f" confidence {result.confidence:.2f}{below})"
            )
        for cell in result.cells:
            if cell.kind == "code":
                print(f"```{cell.language}\n{cell.source.rstrip()}\n```")
            else:
                print(cell.source.rstrip())
