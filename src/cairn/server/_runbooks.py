"""Runbooks under the server's root: API paths are relative and may not leave it, and
what the server answers names files the same way, never by the server's absolute paths."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path

from ..notebook import (
    Cell,
    CellNotFoundError,
    Notebook,
    NotebookError,
    find_cell,
    load,
    select_cells,
)
from ._errors import ApiError


def etag_of(data: bytes) -> str:
    """A runbook's version, as an ETag: what the page sends back in If-Match."""
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


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
    """Read the runbook at `rel`: 404 when it does not exist, 400 when it cannot be read.
    Blocking (a large runbook parses for seconds): call it from a worker thread, under
    `collector_paused()` for as long as the notebook lives (see there)."""
    full = resolve_path(root, rel)
    if not full.exists():
        raise ApiError(404, f"{rel}: no such file under the server's root")
    try:
        return full, load(full)
    except NotebookError as exc:
        raise ApiError(400, str(exc)) from None


def runnable_cell(nb: Notebook, ref: str, rel: str) -> Cell:
    """The code cell to run, chosen as `cairn run` chooses it (`select_cells`): 404 when
    there is none, 400 when ambiguous or when Runme shows it as markup."""
    try:
        (cell,) = select_cells(nb, [ref], all_cells=False, tags=[], path=rel)
    except CellNotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    except NotebookError as exc:
        raise ApiError(400, str(exc)) from None
    return cell


def lookup_cell(nb: Notebook, ref: str, rel: str) -> Cell:
    """The code cell named (or with id) `ref`: 404 when there is none, 400 when ambiguous."""
    try:
        return find_cell(nb, ref, rel)
    except CellNotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    except NotebookError as exc:
        raise ApiError(400, str(exc)) from None


# Characters a path can go on with: a place is only replaced where its path ends.
_GOES_ON = r"[\w.~\-/]"


def relative_paths(message: str, places: Mapping[Path, str]) -> str:
    """`message` with each absolute path under one of `places` named relative to it:
    `places` maps a directory to what it is called (`"."` for the served root, so that
    `/srv/books/ops.md` becomes `ops.md` and `/srv/books` itself `.`)."""
    for place, name in sorted(places.items(), key=lambda item: -len(str(item[0]))):
        text = str(place).rstrip("/")
        if not text:
            continue  # the filesystem's root: every absolute path is already relative to it
        below = "" if name == "." else name + "/"
        pattern = rf"(?<!{_GOES_ON}){re.escape(text)}(?:/(?=[^\s/'\"])|(?![\w~\-/]|\.\w))"

        def named(match: re.Match[str], name: str = name, below: str = below) -> str:
            return below if match.group().endswith("/") else name

        message = re.sub(pattern, named, message)
    return message
