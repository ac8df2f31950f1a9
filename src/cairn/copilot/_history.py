"""What a notebook's cells printed when they last ran, from the learning log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def executions_for(log_dir: Path, notebook: Path) -> list[dict[str, Any]]:
    """The `cell.executed` events of this notebook in the learning log, oldest first.

    The whole log is scanned, but a line is decoded only when it names this notebook
    (a byte search first), so a long log of other notebooks costs little."""
    from ._analyze import LogScan, decode_line

    if not log_dir.is_dir():
        return []
    wanted = str(notebook.resolve())
    needle = b'"notebook_path":' + json.dumps(wanted, ensure_ascii=False).encode()

    def read(line: bytes) -> dict[str, Any] | None:
        if needle not in line:
            return None
        event = decode_line(line)
        return event if event.get("notebook_path") == wanted else None

    scan = LogScan(log_dir, None, ("cell.executed",), readers={"cell.executed": read})
    return [event for event in scan if event is not None]
