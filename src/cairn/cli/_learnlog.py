"""`cairn learnlog …` (the contract) and `cairn logs …` (reading what was recorded)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ._app import app
from ._params import Count
from ._settings import common_options, settings


@app.group("learnlog")
def learnlog_group() -> None:
    """The learning log's contract: event schemas, imports from Runme."""


@learnlog_group.command("schema")
def learnlog_schema() -> None:
    """Print the JSON Schema of every learning event (the versioned contract)."""
    from ..learnlog import json_schema

    print(json.dumps(json_schema(), indent=2, sort_keys=True))


@learnlog_group.command("import-runme")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@common_options
def learnlog_import_runme(directory: Path) -> None:
    """Turn Runme's own JSON logs under DIRECTORY into `cell.executed` events.

    Imported events have stable ids, so importing the same logs again adds nothing."""
    from .. import learnlog
    from ..learnlog import read_events, scan_runme

    found = scan_runme(directory)
    logs = _logs_dir()
    seen = {str(e.get("event_id")) for _, e in read_events(logs)} if logs.is_dir() else set()
    settings().open_learning_log()
    added = 0
    for event in found.events:
        if event.event_id not in seen:
            learnlog.emit(event)
            added += 1
    print(
        f"imported {added} executions ({len(found.events) - added} already there) from"
        f" {found.files} files; left out: {found.not_json} non-JSON lines,"
        f" {found.unfinished} unfinished and {found.orphans} unmatched commands"
    )


@app.group("logs")
def logs_group() -> None:
    """Read the learning log: where it is, what it holds, what is arriving."""


@logs_group.command("path")
@common_options
def logs_path() -> None:
    """Print the directory of the learning log."""
    print(settings().resolved_config_dir() / "logs")


def _logs_dir() -> Path:
    return settings().resolved_config_dir() / "logs"


def _write_line(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _summary(event: dict[str, object]) -> str:
    """One readable line per event for `cairn logs tail`."""
    kind = str(event.get("type"))
    when = str(event.get("time", ""))[:23]
    if kind == "cell.executed":
        detail = (
            f"{event.get('known_name') or event.get('known_id')} exit={event.get('exit_code')}"
            f" {event.get('duration_ms')}ms {event.get('program')}"
        )
    elif kind == "cell.started":
        detail = f"{event.get('known_name') or event.get('known_id')} ({event.get('program')})"
    elif kind == "session.started":
        detail = f"{event.get('notebook_path')} [{event.get('client')}]"
    elif kind == "session.ended":
        detail = f"{event.get('cells_run')} cells, {event.get('failures')} failed"
    else:
        detail = str(event.get("trace_id", ""))
    return f"{when}  {kind:<20} {detail}"


@logs_group.command("tail")
@click.option("--follow", "-f", is_flag=True, help="Keep printing events as they arrive.")
@click.option("--json", "as_json", is_flag=True, help="Print events as JSON lines.")
@click.option(
    "-n",
    "count",
    type=Count(0, 1_000_000),
    default=20,
    show_default=True,
    help="Events to show first.",
)
@common_options
def logs_tail(follow: bool, as_json: bool, count: int) -> None:
    """Print the latest learning events (and, with --follow, new ones as they come)."""
    from collections import deque

    from ..learnlog import read_events

    directory = _logs_dir()
    if not directory.is_dir():
        raise click.ClickException(f"no learning log in {directory} yet")
    reader = read_events(directory)
    last: deque[dict[str, object]] = deque((e for _, e in reader), maxlen=max(count, 0))
    for event in last:
        _write_line(json.dumps(event, ensure_ascii=False) if as_json else _summary(event))
    if not follow:
        return
    follower = read_events(directory, reader.offset, follow=True)
    try:
        for _, event in follower:
            _write_line(json.dumps(event, ensure_ascii=False) if as_json else _summary(event))
    except KeyboardInterrupt:
        follower.close()


@logs_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@common_options
def logs_stats(as_json: bool) -> None:
    """Events per type, files and size of the learning log."""
    from collections import Counter

    from ..learnlog import log_paths, read_events

    directory = _logs_dir()
    files = log_paths(directory) if directory.is_dir() else []
    reader = read_events(directory) if directory.is_dir() else None
    per_type: Counter[str] = Counter(str(e.get("type")) for _, e in reader) if reader else Counter()
    stats = {
        "directory": str(directory),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files if p.exists()),
        "events": sum(per_type.values()),
        "events_by_type": dict(sorted(per_type.items())),
        "skipped_lines": reader.counts.skipped if reader else 0,
        "torn_tail": reader.counts.torn_tail if reader else False,
    }
    if as_json:
        print(json.dumps(stats, indent=2))
        return
    for key in ("directory", "files", "bytes", "events", "skipped_lines", "torn_tail"):
        print(f"{key:<14} {stats[key]}")
    for kind, n in stats["events_by_type"].items():  # type: ignore[attr-defined]
        print(f"  {kind:<20} {n}")
