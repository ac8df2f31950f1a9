"""Runbooks under the server's root: API paths are relative and may not leave it."""

from __future__ import annotations

from pathlib import Path

from ..notebook import Cell, CellNotFoundError, Notebook, NotebookError, find_cell, load
from ._errors import ApiError


def resolve_path(root: Path, rel: str) -> Path:
    """`rel` under `root` (symlinks followed); ApiError 400 when it points elsewhere."""
    if "\x00" in rel:
        raise ApiError(400, "path contains a NUL byte")
    candidate = Path(rel)
    if candidate.is_absolute():
        raise ApiError(400, f"{rel}: give a path relative to the server's root")
    full = (root / candidate).resolve()
    if not full.is_relative_to(root):
        raise ApiError(400, f"{rel}: outside the server's root")
    return full


def load_runbook(root: Path, rel: str) -> tuple[Path, Notebook]:
    """Read the runbook at `rel`: 404 when it does not exist, 400 when it cannot be read."""
    full = resolve_path(root, rel)
    if not full.exists():
        raise ApiError(404, f"{rel}: no such file under the server's root")
    try:
        return full, load(full)
    except NotebookError as exc:
        raise ApiError(400, _relative(str(exc), root)) from None


def lookup_cell(root: Path, nb: Notebook, ref: str, rel: str) -> Cell:
    """The code cell named (or with id) `ref`: 404 when there is none, 400 when ambiguous."""
    try:
        return find_cell(nb, ref, rel)
    except CellNotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    except NotebookError as exc:
        raise ApiError(400, _relative(str(exc), root)) from None


def _relative(message: str, root: Path) -> str:
    # Messages name the absolute file; clients only know paths under the root.
    return message.replace(str(root) + "/", "")
