"""`cairn suggest`: the next cell(s) of a runbook, streamed; `--accept` inserts one."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._app import app
from ._llm import debug_option, flush_recording, recorded
from ._params import Count, Finite
from ._settings import common_options, settings

if TYPE_CHECKING:
    from ..copilot import ContextCell, Example, SuggestResult
    from ..notebook import Notebook


def _cursor(nb: Notebook, after: str | None, path: Path) -> int:
    """How many cells come before the suggestion: after CELL, else at the end."""
    from ..copilot._suggest import SuggestError
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


def _context(
    file: Path, nb: Notebook, cursor: int, store: str | None, outputs: bool, examples: bool
) -> tuple[list[ContextCell], list[Example]]:
    """The cells (with their latest outputs from the learning log, kept up to date in the
    store) and the learned examples for this position (no embedder is loaded when none
    were learned)."""
    from ..copilot import query_text
    from ..copilot._context import attach_executions, cells_from_notebook
    from ..copilot._examples import (
        ExampleIndex,
        choose_embedder,
        default_store_path,
        recorded_embedder,
    )
    from ..copilot._history import executions_for
    from ..store import open_store

    cells = cells_from_notebook(nb)
    if not outputs and not examples:
        return cells, []
    # An explicit --store must exist: suggesting only reads it (a typo is not a new store).
    kv = open_store(store or default_store_path(), must_exist=store is not None)
    try:
        if outputs:
            log_dir = settings().resolved_config_dir() / "logs"
            cells = attach_executions(cells, executions_for(kv, log_dir, file))
        if not examples or recorded_embedder(kv) is None:
            return cells, []
        return cells, ExampleIndex(kv, choose_embedder(kv)).search(query_text(cells, cursor))
    finally:
        kv.close()


def _insert(path: Path, nb: Notebook, cursor: int, result: SuggestResult, force: bool) -> str:
    """Insert the chosen suggestion's code cell (with its id) atomically; its id."""
    from ..notebook import Cell, serialize, write_atomic

    code = next(c for c in result.cells if c.kind == "code")
    cell = Cell(
        kind="code",
        source=code.source,
        language=code.language,
        attributes={"id": code.id},
        trailer=nb.newline if cursor < len(nb.cells) else "",
    )
    previous = nb.cells[cursor - 1] if cursor > 0 else None
    if previous is not None and not previous.trailer and previous.source.strip():
        previous.trailer = nb.newline  # keep a blank line before the new fence
    nb.cells.insert(cursor, cell)
    write_atomic(path, serialize(nb), force=force)
    return code.id


@app.command("suggest")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--after", "after", help="Suggest after this cell (name, id, or N-th code cell).")
@click.option("--n", "n", type=click.IntRange(1, 5), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The suggestions as JSON.")
@click.option(
    "--accept",
    "accept",
    type=Count(1, 5),
    is_flag=False,
    flag_value=1,
    default=None,
    help="Insert suggestion K (default 1) into FILE, with an id.",
)
@click.option("--force", is_flag=True, help="With --accept: write into a read-only FILE too.")
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
    """Suggest the next cell(s) of FILE from its cells and their latest outputs."""
    from .. import learnlog
    from ..copilot._suggest import Settings, SuggestError, prepare, suggest
    from ..copilot._suggest_events import accepted_event, generated_event
    from ..llm import run_sync
    from ..llm._config import load_config, open_model
    from ..notebook import load

    nb = load(file)
    cursor = _cursor(nb, after, file)
    cells, examples = _context(file, nb, cursor, store, not no_outputs, not no_examples)
    config_dir = settings().resolved_config_dir()
    model = recorded(open_model(spec, load_config(config_dir)), "suggestion", debug)
    prompt = prepare(model, cells, cursor, examples)
    live = not as_json and sys.stdout.isatty()
    started = False

    def show(text: str) -> None:
        nonlocal started
        if not started:  # the reply continues the prompt's prefill (an opened fence)
            sys.stdout.write(prompt.prefill)
            started = True
        sys.stdout.write(text)
        sys.stdout.flush()

    settings().open_learning_log()  # configures the log unless --no-learning-logs
    try:
        results = run_sync(
            suggest(
                model,
                cells,
                cursor,
                examples=examples,
                settings=Settings(n=n, timeout=timeout),
                on_text=show if live else None,
                prompt=prompt,
            )
        )
    finally:
        flush_recording(model)
    after_id = cells[cursor - 1].id if cursor > 0 else None
    for result in results:
        learnlog.emit(generated_event(result, notebook_path=file, after_cell_id=after_id))
    if accept is not None:
        if accept > len(results):
            raise SuggestError(f"--accept {accept}: only {len(results)} suggestion(s) came back")
        cell_id = _insert(file, nb, cursor, results[accept - 1], force)
        learnlog.emit(accepted_event(results[accept - 1], cell_id))
    _print(results, as_json=as_json, live=live, accepted=accept)
    return 0


def _print(
    results: list[SuggestResult], *, as_json: bool, live: bool, accepted: int | None
) -> None:
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "trace_id": r.trace_id,
                        "model": r.model,
                        "latency_ms": r.latency_ms,
                        "cells": [c.__dict__ for c in r.cells],
                    }
                    for r in results
                ],
                indent=2,
            )
        )
        return
    if live:
        sys.stdout.write("\n")
    for i, result in enumerate(results, 1):
        if live and i == 1:
            continue  # already streamed
        if len(results) > 1:
            print(f"--- suggestion {i} ({result.latency_ms} ms)")
        for cell in result.cells:
            if cell.kind == "code":
                print(f"```{cell.language}\n{cell.source.rstrip()}\n```")
            else:
                print(cell.source.rstrip())
    if accepted is not None:
        print(f"cairn: inserted suggestion {accepted}", file=sys.stderr)
