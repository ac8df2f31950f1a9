"""Finding code cells by name, id or tag, with did-you-mean suggestions."""

from __future__ import annotations

import difflib

from ._errors import CellNotFoundError, DuplicateNameError
from ._model import Cell, Notebook


def find_cell(nb: Notebook, ref: str, path: str = "") -> Cell:
    """The one code cell named (or with id) `ref`; clear errors when none or several."""
    cells = nb.code_cells()
    by_id = [c for c in cells if c.attributes.get("id") == ref]
    if by_id:
        return by_id[0]
    matches = [c for c in cells if c.name == ref]
    if len(matches) > 1:
        lines = ", ".join(str(c.line) for c in matches)
        raise DuplicateNameError(
            f"{path or 'runbook'}: {len(matches)} cells are named {ref!r} (lines {lines});"
            " give them distinct names"
        )
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
    """Cells to run, in notebook order for --all/--tag, in the given order for names."""
    if all_cells or tags:
        wanted = set(tags)
        cells = [c for c in nb.code_cells() if all_cells or wanted & set(c.tags)]
        if not all_cells and not cells:
            raise CellNotFoundError(
                f"{path or 'runbook'}: no cell is tagged {', '.join(sorted(wanted))}"
            )
        return cells
    return [find_cell(nb, ref, path) for ref in refs]
