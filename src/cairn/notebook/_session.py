"""Session outputs in Runme's format: `<name>-<sessionULID>.md` beside the runbook.

Inside each executed cell's fence, after the code, a blank line, then
`# Ran on <time> for <duration> exited with <code>` and the output with ANSI escapes
stripped. The frontmatter gets `runme.session.{id,updated}` and
`runme.document.relativePath`. Parsing such a file reads the outputs back as outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ._files import write_atomic
from ._frontmatter import set_runme_fields
from ._markdown import parse, serialize
from ._model import Output


def pretty_time(moment: datetime) -> str:
    """RFC 3339 in local time with a space for `T` (Runme's `prettyTime`)."""
    local = moment.astimezone()
    text = local.isoformat(sep=" ", timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def pretty_duration(seconds: float) -> str:
    """Go's Duration.String() truncated to milliseconds, with spaces after units."""
    ms = max(0, int(seconds * 1000))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rem = divmod(ms, 3_600_000)
    minutes, rem = divmod(rem, 60_000)
    secs, frac = divmod(rem, 1000)
    sec_text = f"{secs}" + (f".{frac:03d}".rstrip("0") if frac else "") + "s"
    if hours:
        return f"{hours}h {minutes}m {sec_text}"
    if minutes:
        return f"{minutes}m {sec_text}"
    return sec_text


@dataclass(frozen=True)
class CellRun:
    """What the session file records for one executed code cell."""

    index: int  # position among the notebook's code cells
    text: str  # output as plain text (ANSI already stripped)
    exit_code: int | None
    started: datetime
    duration: float


def session_path(runbook: Path, session_id: str) -> Path:
    return runbook.with_name(f"{runbook.stem}-{session_id}.md")


def render_session(
    text: str, runs: list[CellRun], session_id: str, relative_path: str, now: datetime
) -> str:
    """The session document: the runbook's text with outputs and session frontmatter."""
    nb = parse(text)
    code = nb.code_cells()
    for run in runs:
        cell = code[run.index]
        cell.outputs = [
            Output(
                text=run.text if not run.text or run.text.endswith("\n") else run.text + "\n",
                exit_code=run.exit_code,
                ran_at=pretty_time(run.started),
                duration=pretty_duration(run.duration),
            )
        ]
    fields = {
        "document": {"relativePath": relative_path},
        "session": {"id": session_id, "updated": pretty_time(now)},
    }
    nb.frontmatter = set_runme_fields(nb.frontmatter, fields, nb.newline)
    return serialize(nb)


def write_session(
    runbook: Path, text: str, runs: list[CellRun], session_id: str, now: datetime
) -> Path:
    """Write the session file next to `runbook` atomically and return its path."""
    target = session_path(runbook, session_id)
    write_atomic(target, render_session(text, runs, session_id, runbook.name, now))
    return target
