"""A runbook's cells as a prompt sees them (`ContextCell`): the cells of a Markdown
runbook with the session outputs it holds, and the rules every source of cells shares.

Only output items on a textual include-list pass, so UI state such as
`stateful.runme/terminal` never reaches a model while the outputs of interactive cells
do (the failure of Foyle #286). VS Code / Runme documents are read by `_vscode`, the
outputs of the learning log attached by `_executions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..kernel import render_text
from ._types import ContextCell, OutputPart, Stream

if TYPE_CHECKING:
    from ..notebook import Cell, Notebook

# Output items whose data is text a person reads. Everything else — Runme's terminal and
# output-items state, images, widgets, other vendors' JSON — is dropped.
TEXT_MIMES = frozenset(
    {"text/plain", "text/markdown", "text/csv", "text/x-log", "application/json"}
)
_TEXT_MIME_PREFIX = "text/x-"
STDOUT_MIME = "application/vnd.code.notebook.stdout"
STDERR_MIME = "application/vnd.code.notebook.stderr"
ERROR_MIME = "application/vnd.code.notebook.error"


def mime_type(value: object) -> str:
    """A mime type without its parameters (`text/plain; charset=utf-8` → `text/plain`)."""
    return str(value or "").split(";", 1)[0].strip().lower()


def stream_for(mime: str, interactive: bool) -> Stream | None:
    """The stream an output item with this mime type belongs to; None drops it."""
    mime = mime_type(mime)
    if mime in (STDERR_MIME, ERROR_MIME):
        return "stderr"
    if mime == STDOUT_MIME or mime in TEXT_MIMES or mime.startswith(_TEXT_MIME_PREFIX):
        return "output" if interactive else "stdout"  # a PTY merges stdout and stderr
    return None


def merge(parts: Iterable[OutputPart]) -> tuple[OutputPart, ...]:
    """Adjacent chunks of one stream become one part; empty parts go."""
    merged: list[OutputPart] = []
    for part in parts:
        if not part.text and not part.truncated:
            continue
        if merged and merged[-1].stream == part.stream:
            last = merged[-1]
            merged[-1] = OutputPart(
                last.stream, last.text + part.text, last.truncated + part.truncated
            )
        else:
            merged.append(part)
    return tuple(merged)


def parse_exit_code(value: object) -> int | None:
    """An exit code given as a number or as its digits; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,10}", value.strip()):
        return int(value)
    return None


def _markdown_cell(cell: Cell) -> ContextCell:
    if cell.kind == "markup":
        return ContextCell("markup", cell.source)
    parts = (
        OutputPart("output", render_text(o.text))
        for o in cell.outputs
        if stream_for(o.mime, True) is not None
    )
    codes = [o.exit_code for o in cell.outputs if o.exit_code is not None]
    return ContextCell(
        "code",
        cell.source,
        cell.language,
        id=cell.attributes.get("id") or None,
        name=cell.name,
        interactive=cell.interactive,
        outputs=merge(parts),
        exit_code=codes[-1] if codes else None,
    )


def cells_from_notebook(nb: Notebook) -> list[ContextCell]:
    """The cells of a Markdown runbook; outputs read from a Runme session file are kept
    (stream "output": the file does not tell stdout from stderr) with their exit code."""
    return [_markdown_cell(cell) for cell in nb.cells]


__all__ = [
    "ERROR_MIME",
    "STDERR_MIME",
    "STDOUT_MIME",
    "TEXT_MIMES",
    "cells_from_notebook",
    "merge",
    "mime_type",
    "parse_exit_code",
    "stream_for",
]
