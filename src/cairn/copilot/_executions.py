"""The outputs of the learning log attached to a runbook's cells: each code cell gets
what its latest `cell.executed` event printed (matched by cell id, else by name), in
place of outputs read from a session file. `_history` keeps those events per notebook."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._cells import merge, parse_exit_code
from ._types import ContextCell, OutputPart, Stream


def _latest_executions(
    executions: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, Mapping[str, Any]], dict[str, Mapping[str, Any]]]:
    """The latest `cell.executed` event per cell id and per cell name (later wins ties)."""
    by_id: dict[str, Mapping[str, Any]] = {}
    by_name: dict[str, Mapping[str, Any]] = {}
    for event in executions:
        if event.get("type", "cell.executed") != "cell.executed":
            continue
        for key, table in ((event.get("known_id"), by_id), (event.get("known_name"), by_name)):
            if not key:
                continue
            seen = table.get(str(key))
            if seen is None or str(event.get("time") or "") >= str(seen.get("time") or ""):
                table[str(key)] = event
    return by_id, by_name


def _execution_for(
    cell: ContextCell,
    by_id: Mapping[str, Mapping[str, Any]],
    by_name: Mapping[str, Mapping[str, Any]],
    ids: set[str],
) -> Mapping[str, Any] | None:
    if cell.kind != "code":
        return None
    if cell.id and cell.id in by_id:
        return by_id[cell.id]
    event = by_name.get(cell.name) if cell.name else None
    if event is None:
        return None
    other = str(event.get("known_id") or "")
    return None if other and other in ids and other != cell.id else event  # someone else's


def _with_execution(cell: ContextCell, event: Mapping[str, Any]) -> ContextCell:
    interactive = bool(event.get("interactive", cell.interactive is not False))
    streams: tuple[tuple[Stream, str], ...] = (
        ("output" if interactive else "stdout", "stdout"),
        ("stderr", "stderr"),
    )
    parts = (
        OutputPart(
            stream,
            # Rendered (ANSI, CR) only when the prompt shows it: of a long notebook's
            # outputs, only those of the cells nearest the cursor are ever shown.
            str(event.get(key) or ""),
            int(event.get(f"{key}_truncated") or 0),
        )
        for stream, key in streams
    )
    return dataclasses.replace(
        cell,
        interactive=interactive,
        outputs=merge(parts),
        exit_code=parse_exit_code(event.get("exit_code")),
    )


def attach_executions(
    cells: Sequence[ContextCell], executions: Iterable[Mapping[str, Any]]
) -> list[ContextCell]:
    """The cells with the outputs of their latest `cell.executed` event (matched by cell
    id, else by name), which replace outputs read from a session file."""
    by_id, by_name = _latest_executions(executions)
    ids = {c.id for c in cells if c.id}
    result: list[ContextCell] = []
    for cell in cells:
        event = _execution_for(cell, by_id, by_name, ids)
        result.append(cell if event is None else _with_execution(cell, event))
    return result


__all__ = ["attach_executions"]
