"""VS Code / Runme notebook documents (JSON, as the extension sends them) → the cells a
prompt sees: textual output items only, each on its stream, with the cell's exit code
from wherever the document keeps it."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Literal

from ..kernel import render_text
from ._cells import ERROR_MIME, merge, mime_type, parse_exit_code, stream_for
from ._errors import CopilotError
from ._types import ContextCell, OutputPart

EXIT_CODE_KEYS = ("runme.dev/exitCode", "exitCode", "exit_code")


class NotebookFormatError(CopilotError, ValueError):
    """A notebook document (VS Code / Runme JSON) that does not have the expected shape."""


_KINDS: dict[object, Literal["markup", "code"]] = {
    1: "markup",
    2: "code",
    "markup": "markup",
    "markdown": "markup",
    "code": "code",
}


def _exit_code_in(metadata: object) -> int | None:
    if not isinstance(metadata, Mapping):
        return None
    for key in EXIT_CODE_KEYS:
        code = parse_exit_code(metadata.get(key))
        if code is not None:
            return code
    return None


def _flag(value: object, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip().lower() != "false"
    return default


def _item_text(item: Mapping[str, Any], where: str) -> str:
    """An output item's data as text: a string, byte values, a Node Buffer, or base64."""
    if "dataBase64" in item:
        encoded = item["dataBase64"]
        if not isinstance(encoded, str):
            raise NotebookFormatError(f"{where}: an output item's `dataBase64` must be text")
        try:
            raw = base64.b64decode(encoded, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise NotebookFormatError(f"{where}: an output item's base64 is bad ({exc})") from None
        return raw.decode("utf-8", "replace")
    data = item.get("data")
    if isinstance(data, Mapping) and data.get("type") == "Buffer":
        data = data.get("data")
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    if isinstance(data, list) and all(isinstance(b, int) for b in data):
        try:
            return bytes(data).decode("utf-8", "replace")
        except ValueError:
            raise NotebookFormatError(
                f"{where}: an output item's byte values must be 0..255"
            ) from None
    return json.dumps(data, ensure_ascii=False)  # application/json given as a value


def _error_text(text: str) -> str:
    """VS Code's error items hold `{"name", "message", "stack"}`."""
    try:
        error = json.loads(text)
    except ValueError:
        return text
    if not isinstance(error, Mapping):
        return text
    stack = str(error.get("stack") or "").strip()
    if stack:
        return stack + "\n"
    name, message = str(error.get("name") or "Error"), str(error.get("message") or "")
    return f"{name}: {message}\n"


def _vscode_outputs(
    outputs: object, interactive: bool, where: str
) -> tuple[tuple[OutputPart, ...], int | None]:
    if not isinstance(outputs, list):
        raise NotebookFormatError(f"{where}: `outputs` must be a list")
    parts: list[OutputPart] = []
    exit_code: int | None = None
    for output in outputs:
        if not isinstance(output, Mapping):
            raise NotebookFormatError(f"{where}: an output must be an object")
        exit_code = _exit_code_in(output.get("metadata")) if exit_code is None else exit_code
        items = output.get("items") or []
        if not isinstance(items, list):
            raise NotebookFormatError(f"{where}: an output's `items` must be a list")
        for item in items:
            if not isinstance(item, Mapping):
                raise NotebookFormatError(f"{where}: an output item must be an object")
            mime = mime_type(item.get("mime"))
            stream = stream_for(mime, interactive)
            if stream is None:
                continue
            text = _item_text(item, where)
            if mime == ERROR_MIME:
                text = _error_text(text)
            parts.append(OutputPart(stream, render_text(text)))
    return merge(parts), exit_code


def _summary_exit_code(summary: object) -> int | None:
    if not isinstance(summary, Mapping):
        return None
    code = _exit_code_in(summary)
    if code is not None:
        return code
    success = summary.get("success")
    return None if not isinstance(success, bool) else (0 if success else 1)


def _source(value: object, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)  # Jupyter's list of lines
    raise NotebookFormatError(f"{where}: `value` must be text")


def _vscode_cell(raw: object, index: int) -> ContextCell:
    where = f"cell {index}"
    if not isinstance(raw, Mapping):
        raise NotebookFormatError(f"{where}: a cell must be an object")
    raw_kind = raw.get("kind")
    # Only numbers and names: a list is unhashable, and True == 1 would read as markup.
    usable = isinstance(raw_kind, int | str) and not isinstance(raw_kind, bool)
    kind = _KINDS.get(raw_kind) if usable else None
    if kind is None:
        raise NotebookFormatError(f"{where}: unknown kind {raw_kind!r}")
    source = _source(raw.get("value", raw.get("source", "")), where)
    if kind == "markup":
        return ContextCell("markup", source)
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise NotebookFormatError(f"{where}: `metadata` must be an object")
    interactive = _flag(metadata.get("interactive"), default=True)  # Runme's default
    outputs, exit_code = _vscode_outputs(raw.get("outputs") or [], interactive, where)
    if exit_code is None:
        exit_code = _exit_code_in(metadata)
    if exit_code is None:
        exit_code = _summary_exit_code(raw.get("executionSummary"))
    cell_id = metadata.get("id") or metadata.get("runme.dev/id")
    return ContextCell(
        "code",
        source,
        str(raw.get("languageId") or raw.get("language") or ""),
        id=str(cell_id) if cell_id else None,
        name=str(metadata.get("name") or ""),
        interactive=interactive,
        outputs=outputs,
        exit_code=exit_code,
    )


def cells_from_vscode(data: Mapping[str, Any]) -> list[ContextCell]:
    """The cells of a VS Code / Runme notebook document; textual output items only.
    Raises NotebookFormatError (a ValueError) when the document has another shape."""
    cells = data.get("cells") if isinstance(data, Mapping) else None
    if not isinstance(cells, list):
        raise NotebookFormatError("a notebook is an object with a `cells` list")
    return [_vscode_cell(raw, i) for i, raw in enumerate(cells)]


__all__ = ["EXIT_CODE_KEYS", "NotebookFormatError", "cells_from_vscode"]
