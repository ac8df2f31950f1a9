"""Runbooks as notebooks: Runme-compatible Markdown parsed losslessly into cells.

Public surface: `parse`/`serialize` (byte-for-byte round trip), `load`/`write_atomic`,
identity modes, session outputs, `.ipynb` import/export, and `to_json` — the stable
JSON view of a notebook that tools and tests read.
"""

from __future__ import annotations

from typing import Any

from ._attributes import format_attributes, parse_info
from ._errors import (
    CellNotFoundError,
    DuplicateNameError,
    NotebookError,
    NotebookFileError,
    UnterminatedFenceError,
)
from ._files import check_fences, load, read_text, write_atomic
from ._frontmatter import Frontmatter, set_runme_fields, split_frontmatter
from ._identity import IDENTITY_MODES, apply_identity
from ._ipynb import from_ipynb, to_ipynb
from ._lookup import find_cell, select_cells
from ._markdown import assign_names, parse, render_cell, sanitize_name, serialize, split_lines
from ._model import EXPORT_NAME_RE, Cell, Notebook, Output
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
    return {
        "schema": JSON_SCHEMA_VERSION,
        "frontmatter": None
        if fm is None
        else {"format": fm.format, "data": fm.data, "error": fm.error, "raw": fm.raw},
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
    "CellRun",
    "DuplicateNameError",
    "Frontmatter",
    "Notebook",
    "NotebookError",
    "NotebookFileError",
    "Output",
    "UnterminatedFenceError",
    "apply_identity",
    "assign_names",
    "check_fences",
    "find_cell",
    "format_attributes",
    "from_ipynb",
    "is_ulid",
    "load",
    "new_ulid",
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
