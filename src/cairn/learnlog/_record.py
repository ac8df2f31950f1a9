"""Events from executions: the one mapping from sessions and kernel results to events.

`cairn run` and `cairn serve` both build their events here, so the same execution
gives the same event whichever way it ran.
"""

from __future__ import annotations

import os

from ..kernel import CellResult, CellSpec, Program
from ..notebook import Cell, Notebook
from ._events import CellExecuted, CellStarted, SessionEnded, SessionStarted, bound_text


def _notebook(
    path: str | os.PathLike[str] | None, nb: Notebook | None
) -> tuple[str | None, str | None]:
    """(absolute notebook path, document id) for an event."""
    fm = nb.frontmatter if nb is not None else None
    return (
        os.path.abspath(path) if path is not None else None,
        fm.document_id if fm is not None else None,
    )


def cell_started(
    *,
    path: str | os.PathLike[str] | None,
    nb: Notebook | None,
    cell: Cell,
    spec: CellSpec,
    program: Program,
    cwd: str,
    session_id: str,
) -> CellStarted:
    notebook_path, notebook_id = _notebook(path, nb)
    return CellStarted(
        session_id=session_id,
        notebook_path=notebook_path,
        notebook_id=notebook_id,
        known_id=cell.id,
        known_name=cell.name,
        language=cell.language,
        program=program.display,
        interactive=spec.interactive,
        cwd=cwd,
    )


def cell_executed(
    *,
    path: str | os.PathLike[str] | None,
    nb: Notebook | None,
    cell: Cell,
    result: CellResult,
    session_id: str,
) -> CellExecuted:
    proc = result.process
    stdout, out_cut = bound_text(proc.stdout.text)
    stderr, err_cut = bound_text(proc.stderr.text)
    notebook_path, notebook_id = _notebook(path, nb)
    return CellExecuted(
        session_id=session_id,
        notebook_path=notebook_path,
        notebook_id=notebook_id,
        known_id=cell.id,
        known_name=cell.name,
        language=cell.language,
        program=result.program,
        source=result.cell.source,
        interactive=proc.interactive,
        cwd=result.cwd_before,
        exit_code=proc.exit_code,
        duration_ms=int(proc.duration * 1000),
        stdout=stdout,
        stderr=stderr,
        stdout_truncated=out_cut + proc.stdout.dropped,
        stderr_truncated=err_cut + proc.stderr.dropped,
        env_changed=list(result.env_changed),
        timed_out=proc.timed_out,
        cancelled=proc.cancelled,
    )


def session_started(
    *,
    path: str | os.PathLike[str] | None,
    nb: Notebook | None,
    cwd: str,
    client: str,
    session_id: str,
) -> SessionStarted:
    notebook_path, notebook_id = _notebook(path, nb)
    return SessionStarted(
        session_id=session_id,
        notebook_path=notebook_path,
        notebook_id=notebook_id,
        cwd=cwd,
        client=client,
    )


def session_ended(
    *, session_id: str, cells_run: int, failures: int, seconds: float
) -> SessionEnded:
    return SessionEnded(
        session_id=session_id,
        cells_run=cells_run,
        failures=failures,
        duration_ms=int(seconds * 1000),
    )
