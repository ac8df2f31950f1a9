"""Running cells: sessions that carry env and cwd, pipe and PTY runners, timeouts,
cancellation of the whole process group (also on SIGTERM/SIGHUP, through
`StopSignals`), and bounded output capture.

The kernel runs `CellSpec`s; `_runbook` alone maps notebook cells onto them.
"""

from ._capture import DEFAULT_LIMIT, Captured, Chunk, HeadTail
from ._errors import KernelError, ProgramNotFoundError, UnknownLanguageError
from ._process import Execution, ProcessResult, ProcessSpec
from ._programs import LANGUAGE_TABLE, Program, resolve_program
from ._runbook import RunOptions, cell_spec, run_cells, session_for, session_record
from ._session import (
    EXPORT_NAME_RE,
    LAST_OUTPUT_VAR,
    MAX_TIMEOUT,
    CellResult,
    CellSpec,
    Session,
    parse_timeout,
)
from ._signals import STOP_SIGNALS, StopSignals
from ._terminal import render_text, strip_escapes

__all__ = [
    "DEFAULT_LIMIT",
    "EXPORT_NAME_RE",
    "LANGUAGE_TABLE",
    "LAST_OUTPUT_VAR",
    "MAX_TIMEOUT",
    "STOP_SIGNALS",
    "Captured",
    "CellResult",
    "CellSpec",
    "Chunk",
    "Execution",
    "HeadTail",
    "KernelError",
    "ProcessResult",
    "ProcessSpec",
    "Program",
    "ProgramNotFoundError",
    "RunOptions",
    "Session",
    "StopSignals",
    "UnknownLanguageError",
    "cell_spec",
    "parse_timeout",
    "render_text",
    "resolve_program",
    "run_cells",
    "session_for",
    "session_record",
    "strip_escapes",
]
