"""The evaluation dataset: a directory of Markdown runbooks, replayed in file-name
order, and the cases they hold.

Every non-blank code cell after a runbook's first one is a case: predict that cell from
all the cells before it (prose and code). The first code cell is never a case — with
nothing run yet there is no context to learn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..notebook import Cell as NotebookCell
from ..notebook import Notebook, NotebookError, load
from ._errors import CopilotError
from ._types import ContextCell, OutputPart


class DatasetError(CopilotError):
    """The dataset directory is missing or empty, a runbook cannot be read, or there
    is nothing to evaluate."""


@dataclass(frozen=True)
class Case:
    """Predict `expected` (cell `index` of `runbook`) from `context`, the cells before it."""

    runbook: str
    index: int
    context: list[ContextCell]
    expected: ContextCell


@dataclass(frozen=True)
class Runbook:
    """One runbook of the dataset: its file name and its cells."""

    name: str
    cells: tuple[ContextCell, ...]

    def cases(self) -> list[Case]:
        """The runbook's cases, in cell order."""
        positions = [i for i, c in enumerate(self.cells) if c.kind == "code" and c.source.strip()]
        return [Case(self.name, i, list(self.cells[:i]), self.cells[i]) for i in positions[1:]]


def context_cell(cell: NotebookCell) -> ContextCell:
    """A notebook cell as the copilot sees it (outputs from a session file included)."""
    code = cell.kind == "code"
    outputs = tuple(OutputPart("output", o.text) for o in cell.outputs)
    return ContextCell(
        kind=cell.kind,
        source=cell.source,
        language=cell.language,
        id=cell.attributes.get("id"),
        name=cell.name,
        interactive=cell.interactive if code else None,
        outputs=outputs,
        exit_code=cell.outputs[-1].exit_code if cell.outputs else None,
    )


def runbook_from(name: str, nb: Notebook) -> Runbook:
    return Runbook(name, tuple(context_cell(c) for c in nb.cells))


def load_dataset(directory: Path | str, *, limit: int | None = None) -> list[Runbook]:
    """The runbooks (`*.md`, not a README) of `directory`, sorted by file name (the replay order),
    the first `limit` of them if given.

    Raises DatasetError for a missing or empty directory, a runbook that cannot be read
    or parsed, or runbooks with no case at all.
    """
    directory = Path(directory)
    paths = _runbook_paths(directory)
    if limit is not None:
        if limit < 1:
            raise DatasetError(f"limit must be at least 1, not {limit}")
        paths = paths[:limit]
    runbooks = [_load_runbook(path) for path in paths]
    if not any(r.cases() for r in runbooks):
        raise DatasetError(
            f"{directory}: no cases: a runbook needs at least two non-empty code cells"
        )
    return runbooks


def _runbook_paths(directory: Path) -> list[Path]:
    if not directory.exists():
        raise DatasetError(f"{directory}: no such dataset directory")
    if not directory.is_dir():
        raise DatasetError(f"{directory}: not a directory; give a directory of runbooks")
    try:
        paths = sorted(
            (
                p
                for p in directory.iterdir()
                if p.suffix == ".md" and p.is_file() and p.stem.upper() != "README"
            ),
            key=lambda p: p.name,
        )
    except OSError as exc:
        raise DatasetError(f"{directory}: cannot list: {exc.strerror}") from None
    if not paths:
        raise DatasetError(f"{directory}: no Markdown runbooks (*.md) in the dataset")
    return paths


def _load_runbook(path: Path) -> Runbook:
    try:
        nb = load(path)
    except NotebookError as exc:
        raise DatasetError(f"dataset runbook unusable: {exc}") from None
    return runbook_from(path.name, nb)
