"""Identity modes (as in Runme): which ids a runbook carries in its text.

`none` writes nothing; `cell` writes a ULID `id` into each fenced code cell's attributes
(inserted into the attribute text as written, so no other byte changes);
`document` writes `runme.id` (and `runme.version`) into the frontmatter; `all` both.
An existing id is never replaced.
"""

from __future__ import annotations

from typing import Literal

from ._errors import NotebookError
from ._frontmatter import set_runme_fields
from ._model import Notebook
from ._ulid import new_ulid

IdentityMode = Literal["none", "cell", "document", "all"]
IDENTITY_MODES: tuple[IdentityMode, ...] = ("none", "cell", "document", "all")
RUNME_VERSION = "v3"


def apply_identity(nb: Notebook, mode: str) -> Notebook:
    """Add the ids `mode` asks for, in place; returns the same notebook."""
    if mode not in IDENTITY_MODES:
        raise NotebookError(
            f"unknown identity mode {mode!r}; use one of {', '.join(IDENTITY_MODES)}"
        )
    if mode in ("cell", "all"):
        for cell in nb.code_cells():
            # An indented code block has nowhere to carry an id (Runme drops it too), and
            # Runme gives none to the blocks it shows as markup.
            if cell.fenced and cell.runnable and not cell.attributes.get("id"):
                # Reuse the ephemeral id so references made before writing stay valid.
                cell.attributes["id"] = cell.id
    if mode in ("document", "all") and not (nb.frontmatter and nb.frontmatter.document_id):
        nb.frontmatter = set_runme_fields(
            nb.frontmatter, {"id": new_ulid(), "version": RUNME_VERSION}, nb.newline
        )
    return nb
