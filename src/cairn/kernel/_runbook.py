"""Running a notebook's code cells: notebook cells → kernel specs → session records.

The only kernel module that knows the notebook model; it reads the cell attributes
Runme defines (`interpreter`, `interactive`, `timeout`, `cwd`) and the frontmatter's
`shell` and `cwd`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..notebook import Cell, CellRun, Notebook
from ._errors import KernelError
from ._session import CellResult, CellSpec, Session, parse_timeout


@dataclass
class RunOptions:
    timeout: float | None = None  # default per cell; the cell's own attribute wins
    interactive: bool | None = None  # force a mode for every cell (None: the cell decides)


def cell_spec(cell: Cell, options: RunOptions | None = None) -> CellSpec:
    """The kernel's view of a notebook cell."""
    options = options or RunOptions()
    timeout = options.timeout
    if cell.attributes.get("timeout", "").strip():
        try:
            timeout = parse_timeout(cell.attributes["timeout"])
        except KernelError as exc:
            where = f"cell {cell.name!r}" if cell.name else "a cell"
            raise KernelError(f"{where} at line {cell.line}: {exc}") from None
    return CellSpec(
        source=cell.source,
        language=cell.language,
        name=cell.name,
        interactive=cell.interactive if options.interactive is None else options.interactive,
        interpreter=cell.attributes.get("interpreter") or None,
        timeout=timeout,
    )


def session_for(nb: Notebook, path: Path, **kwargs: object) -> Session:
    """A session rooted where the runbook says: its directory, or the frontmatter `cwd`."""
    root = path.resolve().parent
    fm = nb.frontmatter
    cwd = root / fm.cwd if fm is not None and fm.cwd else root
    return Session(cwd=os.path.normpath(cwd), shell=fm.shell if fm else None, **kwargs)  # type: ignore[arg-type]


def run_cells(
    nb: Notebook,
    cells: list[Cell],
    session: Session,
    *,
    options: RunOptions | None = None,
    execute: Callable[[Session, Cell, CellSpec], CellResult] | None = None,
    stop_on_failure: bool = True,
) -> Iterator[tuple[Cell, CellResult]]:
    """Run cells in order; stops after the first failure unless told otherwise.

    Every cell's attributes are checked here, before the first cell runs (KernelError):
    a bad `timeout` on the last cell must not stop a run half-way.
    """
    specs = [cell_spec(cell, options) for cell in cells]
    return _run(cells, specs, session, execute, stop_on_failure)


def _run(
    cells: list[Cell],
    specs: list[CellSpec],
    session: Session,
    execute: Callable[[Session, Cell, CellSpec], CellResult] | None,
    stop_on_failure: bool,
) -> Iterator[tuple[Cell, CellResult]]:
    for cell, spec in zip(cells, specs, strict=True):
        if cell.attributes.get("cwd"):
            session.cwd = os.path.normpath(os.path.join(session.cwd, cell.attributes["cwd"]))
        result = execute(session, cell, spec) if execute else session.run(spec)
        yield cell, result
        if stop_on_failure and not result.ok:
            return


def session_record(nb: Notebook, cell: Cell, result: CellResult) -> CellRun:
    """What the session file keeps of one executed cell."""
    index = nb.code_cells().index(cell)
    proc = result.process
    text = proc.stdout.text
    if proc.stderr.text:
        text = text + ("" if not text or text.endswith("\n") else "\n") + proc.stderr.text
    return CellRun(index, text, proc.exit_code, proc.started, proc.duration)
