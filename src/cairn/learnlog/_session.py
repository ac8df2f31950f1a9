"""One session's learning events, recorded the same way by `cairn run` and `cairn serve`.

A session is announced (`session.started`), each cell is recorded before it starts
(`cell.started`) and once it is over (`cell.executed`), and the session ends
(`session.ended`). The front ends only decide when; what is recorded is decided here
and in `_record`. learnlog may import the kernel (it maps kernel results to events), so
this is the lowest layer that sees both.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..kernel import CellResult, CellSpec, Program, Session
from ..notebook import Cell, Notebook
from ._log import emit, flush
from ._record import cell_executed, cell_started, session_ended, session_started


class SessionEvents:
    """The learning events of one session.

    `queued=True` queues events instead of waiting for each (the cell starts at once;
    the flusher writes while it runs) and `ended` then waits for all of them, so none
    is lost when the process exits. `enabled=False` records nothing.
    """

    def __init__(
        self,
        *,
        session_id: str,
        path: str | os.PathLike[str] | None,
        nb: Notebook | None,
        client: str,
        queued: bool = False,
        enabled: bool = True,
    ) -> None:
        self.session_id = session_id
        self.path = path
        self.nb = nb
        self.client = client
        self.queued = queued
        self.enabled = enabled

    def started(self, cwd: str) -> None:
        if self.enabled:
            event = session_started(
                path=self.path, nb=self.nb, cwd=cwd, client=self.client, session_id=self.session_id
            )
            emit(event, wait=not self.queued)

    def cell_started(self, cell: Cell, spec: CellSpec, program: Program, cwd: str) -> None:
        if self.enabled:
            event = cell_started(
                path=self.path,
                nb=self.nb,
                cell=cell,
                spec=spec,
                program=program,
                cwd=cwd,
                session_id=self.session_id,
            )
            emit(event, wait=not self.queued)

    def cell_executed(self, cell: Cell, result: CellResult) -> None:
        if self.enabled:
            event = cell_executed(
                path=self.path, nb=self.nb, cell=cell, result=result, session_id=self.session_id
            )
            emit(event, wait=not self.queued)

    def run_cell(
        self, session: Session, cell: Cell, spec: CellSpec, run: Callable[[], CellResult]
    ) -> CellResult:
        """Record the cell, `run()` it in `session`, record its result."""
        self.cell_started(cell, spec, session.resolve(spec), session.cwd)
        result = run()
        self.cell_executed(cell, result)
        return result

    def ended(self, *, cells_run: int, failures: int, seconds: float) -> None:
        """Record the end; returns once every event of the session is on disk."""
        if self.enabled:
            event = session_ended(
                session_id=self.session_id, cells_run=cells_run, failures=failures, seconds=seconds
            )
            emit(event, wait=True)
            if self.queued:
                flush()
