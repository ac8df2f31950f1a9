"""`cairn learn` and `cairn stats`: learn from the learning log, and show how the
suggestions fared. The copilot, numpy and the store load inside the commands only."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from ._app import app
from ._params import Finite
from ._progress import spinner
from ._settings import common_options, opened_store, settings, store_option

if TYPE_CHECKING:
    from ..copilot import AnalyzeCounts, LearnCounts, ModelStats


def _log_dir() -> Path:
    return settings().resolved_config_dir() / "logs"


def _summary(analyzed: AnalyzeCounts, learned: LearnCounts) -> str:
    from ..copilot import RERUN_WINDOW

    text = (
        f"cairn: analyzed {analyzed.events} events: {analyzed.suggested} suggested cells,"
        f" {analyzed.accepted} accepted, {analyzed.executed} executed;"
        f" learned {learned.learned} examples from {learned.executions} executions"
        f" ({learned.failed} failed, {learned.replaced} replaced by an edit,"
        f" {learned.duplicates} duplicates, {learned.no_context} without context);"
        f" {learned.pending} pending (learned unless run again in edited form"
        f" within {RERUN_WINDOW / 60:g} min)"
    )
    unread = analyzed.skipped + analyzed.malformed + learned.malformed
    damaged = analyzed.damaged + learned.damaged
    if unread:
        text += f"; {unread} unreadable events skipped"
    if damaged:
        text += f"; {damaged} damaged store entries rebuilt or skipped"
    return text


def _changed(analyzed: AnalyzeCounts, learned: LearnCounts) -> bool:
    """Whether a pass did anything: read events, or settled runs that were pending."""
    settled = learned.learned + learned.failed + learned.duplicates + learned.no_context
    return bool(analyzed.events or learned.events or settled)


@contextmanager
def _until_interrupted() -> Iterator[threading.Event]:
    """An event set by the first Ctrl-C (or SIGTERM): the pass under way finishes, then
    the loop ends. A second Ctrl-C interrupts at once."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@app.command("learn")
@click.option("--follow", is_flag=True, help="Keep learning from new events until Ctrl-C.")
@click.option(
    "--interval",
    type=Finite(0.05, 86_400),
    default=2.0,
    show_default=True,
    help="Seconds between passes with --follow.",
)
@store_option
@click.option(
    "--embedder",
    type=click.Choice(["local", "hash"]),
    help="local (all-MiniLM-L6-v2) or hash (no model; tests). Default: the one that"
    " embedded the examples, else local.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pass.")
@common_options
def learn(
    follow: bool, interval: float, store_url: str | None, embedder: str | None, as_json: bool
) -> int:
    """Analyze the learning log (what became of each suggestion) and learn examples from
    the commands that ran successfully; only events since the last run are read."""
    from ..copilot import ExampleIndex, choose_embedder, learn_once

    with opened_store(store_url) as kv:
        index = ExampleIndex(kv, choose_embedder(kv, embedder))

        def one_pass(always: bool) -> None:
            # The first pass loads the embedding model and may read a long log: a
            # spinner says so; later passes of --follow are quick and stay quiet.
            with spinner("cairn: learning from the log…") if always else nullcontext():
                analyzed, learned = learn_once(kv, _log_dir(), index)
            if not always and not _changed(analyzed, learned):
                return
            if as_json:
                print(json.dumps({"analyze": asdict(analyzed), "learn": asdict(learned)}))
            else:
                print(_summary(analyzed, learned))
            sys.stdout.flush()

        if not follow:
            one_pass(always=True)
            return 0
        with _until_interrupted() as stop:
            _follow(one_pass, stop, interval)
    return 0


def _follow(one_pass: Callable[[bool], None], stop: threading.Event, interval: float) -> None:
    first = True
    while not stop.is_set():
        one_pass(first)
        first = False
        stop.wait(interval)


def _rows(numbers: dict[str, ModelStats]) -> list[dict[str, object]]:
    return [numbers[model].to_dict() for model in sorted(numbers)]


@app.command("stats")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@common_options
def stats(store_url: str | None, as_json: bool) -> None:
    """How each model's suggestions fared: shown, accepted, run as suggested, edited
    (and by how many tokens), not run. The learning log is analyzed first."""
    from ..copilot import Analyzer, ModelStats, model_stats

    with opened_store(store_url, read_only=True) as kv:
        Analyzer(kv, _log_dir()).run()
        rows = _rows(model_stats(kv))
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("cairn: no suggestions analyzed yet (see `cairn suggest`)", file=sys.stderr)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "Model",
        "Shown",
        "Accepted",
        "As suggested",
        "Edited",
        "Not run",
        "Failed",
        "Mean edit",
        box=None,
        pad_edge=False,
    )
    for row in rows:
        mean = row["mean_edit_distance"]
        table.add_row(
            str(row["model"]),
            *(str(row[key]) for key in ModelStats.COUNTS),
            "-" if mean is None else f"{mean:.1f} tokens",
        )
    Console(soft_wrap=True).print(table)
