"""Finding code cells by name, id or tag, with did-you-mean suggestions."""

from __future__ import annotations

import difflib

from ._errors import CellNotFoundError, CellNotRunnableError, DuplicateNameError
from ._model import Cell, Notebook


def duplicate_names(nb: Notebook) -> dict[str, list[Cell]]:
    """Names that several code cells share (so `find_cell` refuses them), in file order."""
    by_name: dict[str, list[Cell]] = {}
    for cell in nb.code_cells():
        if cell.name:
            by_name.setdefault(cell.name, []).append(cell)
    return {name: cells for name, cells in by_name.items() if len(cells) > 1}


def duplicate_message(name: str, cells: list[Cell]) -> str:
    lines = ", ".join(str(c.line) for c in cells)
    return f"{len(cells)} cells are named {name!r} (lines {lines}); give them distinct names"


def not_runnable_reason(cell: Cell) -> str:
    """Why Runme shows the cell as markup, and how to make it run."""
    if "transform" in cell.attributes:
        why = f"its transform attribute is {cell.attributes['transform']!r}"
    else:
        why = "it is a mermaid diagram"
    return (
        f"cell {cell.name!r} (line {cell.line}) is not runnable: {why}, so Runme shows it"
        ' as markup; set {"transform":"true"} to run it'
    )


def find_cell(nb: Notebook, ref: str, path: str = "") -> Cell:
    """The one code cell named (or with id) `ref`; clear errors when none or several."""
    cells = nb.code_cells()
    by_id = [c for c in cells if c.attributes.get("id") == ref]
    if by_id:
        return by_id[0]
    matches = [c for c in cells if c.name == ref]
    if len(matches) > 1:
        raise DuplicateNameError(f"{path or 'runbook'}: {duplicate_message(ref, matches)}")
    if matches:
        return matches[0]
    names = [c.name for c in cells if c.name]
    close = difflib.get_close_matches(ref, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(n) for n in close)}?" if close else ""
    if not close and names:
        hint = f"; available: {', '.join(names[:10])}" + (" …" if len(names) > 10 else "")
    raise CellNotFoundError(f"{path or 'runbook'}: no cell named {ref!r}{hint}")


def select_cells(
    nb: Notebook, refs: list[str], *, all_cells: bool, tags: list[str], path: str = ""
) -> list[Cell]:
    """Cells to run, in notebook order for --all/--tag, in the given order for names.

    --all and --tag pass over cells that are not runnable; naming one is an error.
    """
    if all_cells or tags:
        wanted = set(tags)
        cells = [c for c in nb.code_cells() if c.runnable and (all_cells or wanted & set(c.tags))]
        if not all_cells and not cells:
            runnable = "runnable " if any(wanted & set(c.tags) for c in nb.code_cells()) else ""
            raise CellNotFoundError(
                f"{path or 'runbook'}: no {runnable}cell is tagged {', '.join(sorted(wanted))}"
            )
        return cells
    cells = [find_cell(nb, ref, path) for ref in refs]
    for cell in cells:
        if not cell.runnable:
            raise CellNotRunnableError(f"{path or 'runbook'}: {not_runnable_reason(cell)}")
    return cells
