"""`cairn debug …`: read what the debug recorder captured (runs → steps → attempts)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..notebook import write_atomic
from ._app import app
from ._params import Count, Finite
from ._settings import common_options, settings

if TYPE_CHECKING:
    from ..llm.recorder import DebugSettings, RecordStore


def _settings() -> DebugSettings:
    from ..llm.recorder import load_settings

    return load_settings(settings().config_files())


def _store() -> RecordStore:
    from ..llm.recorder import open_record_store

    store = open_record_store(_settings())
    store.sweep()  # runs whose process died show as interrupted, not in progress forever
    return store


def _resolve(store: RecordStore, prefix: str) -> str:
    from ..llm.recorder import RecorderError

    matches = store.resolve(prefix)
    if not matches:
        raise RecorderError(f"no recorded run matches {prefix!r}; see `cairn debug runs`")
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (" …" if len(matches) > 5 else "")
        raise RecorderError(
            f"{prefix!r} matches {len(matches)} runs ({shown}); give more of the id"
        )
    return matches[0]


def _tree(store: RecordStore, prefix: str) -> dict[str, Any]:
    from ..llm.recorder import RecorderError

    run_id = _resolve(store, prefix)
    tree = store.tree(run_id)
    if tree is None:  # deleted between resolving and reading
        raise RecorderError(f"run {run_id} was just deleted")
    return tree


def _width() -> int:
    return shutil.get_terminal_size((120, 24)).columns


@app.group("debug")
def debug_group() -> None:
    """Recorded model calls: runs (one task) → steps (one call) → attempts (one HTTP try).

    Record with `--debug` on a command, CAIRN_RECORD=1, `[debug] record = true` in
    cairn.toml, or in a project's .cairn.toml.
    """


@debug_group.command("runs")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
@click.option("--kind", help="Only runs of this kind (prompt, suggestion, agent_turn, bot_job…).")
@click.option("--errors", is_flag=True, help="Only runs with an error.")
@click.option("--limit", type=Count(1, 100_000), default=20, show_default=True)
@common_options
def debug_runs(as_json: bool, kind: str | None, errors: bool, limit: int) -> None:
    """The most recent runs, newest first."""
    store = _store()
    try:
        chosen = []
        for run in store.runs():
            if kind is not None and run.get("kind") != kind:
                continue
            summary = run.get("summary") or {}
            if errors and not (summary.get("has_error") or run.get("status") == "error"):
                continue
            chosen.append(run)
            if len(chosen) >= limit:
                break
    finally:
        store.kv.close()
    if as_json:
        for run in chosen:
            print(json.dumps(run, separators=(",", ":")))
        return
    if not chosen:
        print("no recorded runs" + (" match" if kind or errors else ""), file=sys.stderr)
        return
    from ..llm.recorder import render_runs_table

    text = render_runs_table(chosen, width=_width())
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@debug_group.command("show")
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="The whole run as JSON.")
@common_options
def debug_show(run: str, as_json: bool) -> None:
    """A run as a tree of steps and attempts, with timings and a waterfall."""
    store = _store()
    try:
        tree = _tree(store, run)
    finally:
        store.kv.close()
    if as_json:
        print(json.dumps(tree, indent=2))
        return
    from ..llm.recorder import render_run

    text = render_run(tree, width=_width())
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@debug_group.command("export")
@click.argument("run")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "otel"]), default="json", show_default=True
)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write to a file.")
@click.option("--force", is_flag=True, help="Replace a read-only --output file too.")
@click.option(
    "--include-content", is_flag=True, help="otel: add the messages (GenAI content capture)."
)
@common_options
def debug_export(
    run: str, fmt: str, output: Path | None, force: bool, include_content: bool
) -> None:
    """A run as JSON, or as OTLP/JSON spans (OpenTelemetry GenAI conventions)."""
    store = _store()
    try:
        tree = _tree(store, run)
    finally:
        store.kv.close()
    if fmt == "otel":
        from ..llm.recorder import export_otel

        data: Any = export_otel(tree, include_content=include_content)
    else:
        data = tree
    text = json.dumps(data, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text, force=force)


def _set_pinned(run: str, pinned: bool) -> None:
    store = _store()
    try:
        run_id = _resolve(store, run)
        store.set_pinned(run_id, pinned)
    finally:
        store.kv.close()
    print(f"{'pinned' if pinned else 'unpinned'} {run_id}")


@debug_group.command("pin")
@click.argument("run")
@common_options
def debug_pin(run: str) -> None:
    """Keep RUN whatever the retention settings say."""
    _set_pinned(run, True)


@debug_group.command("unpin")
@click.argument("run")
@common_options
def debug_unpin(run: str) -> None:
    """Let retention delete RUN again."""
    _set_pinned(run, False)


@debug_group.command("prune")
@click.option("--max-age-days", type=Finite(0, 36_500), help="Default: cairn.toml, 30.")
@click.option("--max-size-mb", type=Finite(0, 1 << 20), help="Default: cairn.toml, 256.")
@common_options
def debug_prune(max_age_days: float | None, max_size_mb: float | None) -> None:
    """Apply retention now: delete old runs, then the oldest until under the size limit.
    Pinned runs and runs in progress are kept."""
    config = _settings()
    age = config.max_age_days if max_age_days is None else max_age_days
    size = config.max_size_mb if max_size_mb is None else max_size_mb
    store = _store()
    try:
        deleted, freed = store.prune(
            max_age_s=None if age is None else age * 86400,
            max_bytes=None if size is None else int(size * 1024 * 1024),
        )
    finally:
        store.kv.close()
    print(f"deleted {deleted} runs ({freed / 1024:.1f} KiB)")


@debug_group.command("status")
@common_options
def debug_status() -> None:
    """Whether calls are recorded (and which switch says so), and where."""
    config = _settings()
    state = "on" if config.record else "off"
    print(f"recording: {state} (decided by {config.decided_by})")
    print(f"store: {config.store}")
    age = "none" if config.max_age_days is None else f"{config.max_age_days:g} days"
    size = "none" if config.max_size_mb is None else f"{config.max_size_mb:g} MB"
    print(f"retention: {age}, {size} (pinned runs kept)")
