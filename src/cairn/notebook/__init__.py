"""Runbooks as notebooks: Runme-compatible Markdown parsed losslessly into cells.

Public surface: `parse`/`serialize` (byte-for-byte round trip), `load`/`write_atomic`,
identity modes, session outputs, `.ipynb` import/export, and `to_json` — the stable
JSON view of a notebook that tools and tests read.
"""

from __future__ import annotations

from typing import Any

from ._attributes import format_attributes, parse_info
from ._blocks import split_lines
from ._errors import (
    CellNotFoundError,
    CellNotRunnableError,
    DuplicateNameError,
    NotebookError,
    NotebookFileError,
)
from ._files import format_diagnostics, load, read_text, write_atomic
from ._frontmatter import Frontmatter, json_safe, set_runme_fields, split_frontmatter
from ._identity import IDENTITY_MODES, apply_identity
from ._ipynb import from_ipynb, to_ipynb
from ._lookup import (
    duplicate_message,
    duplicate_names,
    find_cell,
    not_runnable_reason,
    select_cells,
)
from ._markdown import assign_names, parse, render_cell, sanitize_name, serialize
from ._model import EXPORT_NAME_RE, Cell, Diagnostic, Notebook, Output, insert_code_cell
from ._session import (
    CellRun,
    pretty_duration,
    pretty_time,
    render_session,
    session_path,
    write_session,
)
from ._ulid import is_ulid, new_ulid

JSON_SCHEMA_VERSION = 1


def to_json(nb: Notebook) -> dict[str, Any]:
    """The stable JSON view of a notebook (schema version `JSON_SCHEMA_VERSION`)."""
    fm = nb.frontmatter
    frontmatter = None
    if fm is not None:
        # YAML and TOML have dates and more that JSON lacks: those become strings.
        try:
            data, error = json_safe(fm.data), fm.error
        except NotebookError as exc:
            data, error = None, str(exc)
        frontmatter = {"format": fm.format, "data": data, "error": error, "raw": fm.raw}
    return {
        "schema": JSON_SCHEMA_VERSION,
        "frontmatter": frontmatter,
        "cells": [
            {
                "kind": c.kind,
                "language": c.language if c.kind == "code" else None,
                "source": c.source,
                "attributes": dict(c.attributes),
                "id": c.attributes.get("id") if c.kind == "code" else None,
                "name": c.name if c.kind == "code" else None,
                "name_generated": c.name_generated if c.kind == "code" else None,
                "interactive": c.interactive if c.kind == "code" else None,
                "line": c.line,
                "outputs": [
                    {
                        "text": o.text,
                        "exit_code": o.exit_code,
                        "ran_at": o.ran_at,
                        "duration": o.duration,
                        "mime": o.mime,
                    }
                    for o in c.outputs
                ],
            }
            for c in nb.cells
        ],
    }


__all__ = [
    "EXPORT_NAME_RE",
    "IDENTITY_MODES",
    "JSON_SCHEMA_VERSION",
    "Cell",
    "CellNotFoundError",
    "CellNotRunnableError",
    "CellRun",
    "Diagnostic",
    "DuplicateNameError",
    "Frontmatter",
    "Notebook",
    "NotebookError",
    "NotebookFileError",
    "Output",
    "apply_identity",
    "assign_names",
    "duplicate_message",
    "duplicate_names",
    "find_cell",
    "format_attributes",
    "format_diagnostics",
    "from_ipynb",
    "insert_code_cell",
    "is_ulid",
    "json_safe",
    "load",
    "new_ulid",
    "not_runnable_reason",
    "parse",
    "parse_info",
    "pretty_duration",
    "pretty_time",
    "read_text",
    "render_cell",
    "render_session",
    "sanitize_name",
    "select_cells",
    "serialize",
    "session_path",
    "set_runme_fields",
    "split_frontmatter",
    "split_lines",
    "to_ipynb",
    "to_json",
    "write_atomic",
    "write_session",
]
