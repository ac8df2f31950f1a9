"""Jupyter `.ipynb` import and export through nbformat.

Code and markdown cells, stream outputs, and exit codes in cell metadata
(`metadata.cairn.exit_code`); cell attributes travel in `metadata.runme.attributes`.
"""

from __future__ import annotations

from typing import Any

from ._errors import NotebookError
from ._markdown import assign_names
from ._model import Cell, Notebook, Output


def to_ipynb(nb: Notebook) -> str:
    """Render a notebook as .ipynb JSON text (nbformat 4)."""
    import nbformat
    from nbformat import v4

    cells = []
    for cell in nb.cells:
        if cell.kind == "markup":
            cells.append(v4.new_markdown_cell(cell.source.rstrip("\n")))
            continue
        outputs = [
            v4.new_output("stream", name="stdout", text=o.text) for o in cell.outputs if o.text
        ]
        metadata: dict[str, Any] = {
            "runme": {"attributes": dict(cell.attributes), "name": cell.name}
        }
        exits = [o.exit_code for o in cell.outputs if o.exit_code is not None]
        if exits:
            metadata["cairn"] = {"exit_code": exits[-1]}
        code = v4.new_code_cell(cell.source.rstrip("\n"), outputs=outputs, metadata=metadata)
        code.metadata["language"] = cell.language
        cells.append(code)
    language = next((c.language for c in nb.code_cells() if c.language), "sh")
    doc = v4.new_notebook(cells=cells, metadata={"language_info": {"name": language}})
    return str(nbformat.writes(doc))


def from_ipynb(text: str) -> Notebook:
    """Build a notebook from .ipynb JSON text; raises NotebookError when it is invalid."""
    import nbformat

    try:
        doc = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for bad input
        raise NotebookError(f"not a valid .ipynb notebook: {exc}".splitlines()[0]) from None
    default_language = str(doc.metadata.get("language_info", {}).get("name", "") or "")
    nb = Notebook()
    for item in doc.cells:
        source = str(item.source)
        if source and not source.endswith("\n"):
            source += "\n"
        if item.cell_type == "code":
            meta = item.metadata
            runme = meta.get("runme", {}) if isinstance(meta.get("runme"), dict) else {}
            attributes = {str(k): str(v) for k, v in dict(runme.get("attributes", {})).items()}
            text = "".join(
                str(o.get("text", ""))
                for o in item.get("outputs", [])
                if o.get("output_type") == "stream"
            )
            exit_code = (
                meta.get("cairn", {}).get("exit_code")
                if isinstance(meta.get("cairn"), dict)
                else None
            )
            outputs = (
                [Output(text=text, exit_code=exit_code)] if text or exit_code is not None else []
            )
            language = str(meta.get("language", default_language) or default_language)
            nb.cells.append(
                Cell(
                    kind="code",
                    source=source,
                    language=language,
                    attributes=attributes,
                    outputs=outputs,
                )
            )
        elif source.strip():
            nb.cells.append(Cell(kind="markup", source=source))
    assign_names(nb)
    return nb
