"""Importing Runme's own logs: its runner's JSON log lines become `cell.executed` events,
so people who already run Runme can feed Cairn.

Runme's runner logs with zap's production JSON encoder (`level`, `ts` in epoch seconds,
`caller`, `msg`, then the fields). Per execution it writes a "received initial request"
line carrying the request, and later a "command finished" line with `exitCode`; both
carry the execution's id. Two generations of the runner are understood:

- runner v1 (`runme/runner/v1`): id field `_id`, `knownID`/`knownName` fields, and the
  request as protojson (`programName`, `commands` or `script`, `directory`, `tty`,
  `languageId`, `knownId`, `knownName`, `sessionId`, …);
- runner v2 (`runme/runner/v2`): id field `id`, the request logged through Go's JSON
  encoding (`config` with `program_name`, `Source` holding `Commands.items` or
  `Script`, `directory`, `interactive`, `language_id`, `known_id`, `known_name`, …).

Since Runme 3.9.1 "received initial request" is logged at debug level, so a log at the
default info level lacks it. Then:

- runner v1 still logs "running Execute in runnerService" (the start) and "command
  finished" with `_id`, `knownID`/`knownName` (when the cell has them) and `exitCode`:
  the event is made from those alone (no source, program or directory);
- runner v2 logs "received request" with the initial request at info level, used in
  its place; and it logs "command finished" twice per run (from the execution, then
  from the service): the first counts, the second is ignored.

A "command finished" that neither a request nor a known id or name ties to a cell is
left out and counted as an orphan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._events import CellExecuted

REQUEST_MSG = "received initial request"
# Runner v2 logs each request it reads at info level, the initial one first.
LATER_REQUEST_MSG = "received request"
# Runner v1 logs this, with the run's id, as an execution starts.
STARTED_MSG = "running Execute in runnerService"
FINISHED_MSGS = frozenset({"command finished", "command has finished"})
LOG_SUFFIXES = (".log", ".json", ".jsonl")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass
class RunmeImport:
    """What an import found: the events, and what it had to leave out."""

    events: list[CellExecuted] = field(default_factory=list)
    files: int = 0
    lines: int = 0
    not_json: int = 0  # lines that are not JSON objects (console-format logs, torn lines)
    unfinished: int = 0  # runs started without a "command finished" (still running, crashed)
    orphans: int = 0  # finished runs that nothing in the logs ties to a cell


@dataclass
class _Request:
    ts: float
    fields: dict[str, Any]


def _get(data: Any, *keys: str) -> Any:
    """The first of `keys` present in `data` (a dict), else None."""
    if isinstance(data, dict):
        for key in keys:
            if key in data:
                return data[key]
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _source(where: dict[str, Any]) -> str:
    """The cell's source as Runme ran it: the commands joined by newlines, or the script."""
    source = _get(where, "Source", "source")  # v2's oneof, as Go's JSON encoder writes it
    if isinstance(source, dict):
        where = {**where, **source}
    commands = _get(where, "commands", "Commands")
    if isinstance(commands, dict):  # v2: {"items": [...]}
        commands = _get(commands, "items", "lines", "Items", "Lines")
    if isinstance(commands, list) and commands:
        return "\n".join(str(line) for line in commands)
    script = _get(where, "script", "Script")
    return script if isinstance(script, str) else ""


def _program(name: Any, arguments: Any) -> str:
    """The program with its arguments, as Runme was asked to start it."""
    args = [str(a) for a in arguments] if isinstance(arguments, list) else []
    return " ".join([_text(name), *args]).strip()


def _ulid(ms: int, seed: str) -> str:
    """A ULID for `ms` whose random part comes from `seed`: re-importing gives the same id."""
    value = (ms << 80) | int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10], "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _rfc3339(ts: float) -> str:
    when = datetime.fromtimestamp(ts, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event(run_id: str, request: _Request, done_ts: float, done: dict[str, Any]) -> CellExecuted:
    """The event of a run from its request's fields (empty when the log lacks the request)
    and its "command finished" line's fields."""
    fields = request.fields
    req = _get(fields, "req")
    req = req if isinstance(req, dict) else {}
    config = _get(req, "config", "Config")
    config = config if isinstance(config, dict) else {}

    def pick(*keys: str) -> Any:
        value = _get(config, *keys)
        return value if value is not None else _get(req, *keys)

    exit_code = _get(done, "exitCode", "exit_code")
    interactive = pick("interactive", "tty", "Interactive", "Tty")
    session_id = _get(req, "sessionId", "session_id")
    ms = round(done_ts * 1000)
    return CellExecuted(
        event_id=_ulid(ms, f"runme:{run_id}"),
        time=_rfc3339(done_ts),
        session_id=_text(session_id) or None,
        notebook_path=_text(pick("documentPath", "document_path")) or None,
        known_id=_text(_get(fields, "knownID"))
        or _text(pick("knownId", "known_id"))
        or _text(_get(done, "knownID")),
        known_name=_text(_get(fields, "knownName"))
        or _text(pick("knownName", "known_name"))
        or _text(_get(done, "knownName")),
        language=_text(pick("languageId", "language_id")),
        program=_program(pick("programName", "program_name"), pick("arguments", "Arguments")),
        source=_source(config) or _source(req),
        interactive=bool(interactive),
        cwd=_text(pick("directory", "Directory")),
        exit_code=int(exit_code) if isinstance(exit_code, int | float) else -1,
        duration_ms=max(0, round((done_ts - request.ts) * 1000)),
    )


def _log_lines(directory: Path, found: RunmeImport) -> Iterator[dict[str, Any]]:
    paths = sorted(p for p in directory.rglob("*") if p.suffix in LOG_SUFFIXES and p.is_file())
    for path in paths:
        found.files += 1
        with open(path, "rb") as f:
            for raw in f:
                if not raw.strip():
                    continue
                found.lines += 1
                try:
                    entry = json.loads(raw)
                except ValueError:
                    entry = None
                if not isinstance(entry, dict):
                    found.not_json += 1
                    continue
                yield entry


def _run_id(entry: dict[str, Any]) -> str | None:
    run_id = _get(entry, "_id", "id", "runID", "run_id")
    return run_id if isinstance(run_id, str) and run_id else None


def _ts(entry: dict[str, Any]) -> float | None:
    ts = entry.get("ts")
    if isinstance(ts, int | float):
        return float(ts)
    if isinstance(ts, str):  # ISO 8601, when Runme's encoder was configured so
        try:
            return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _has_config(entry: dict[str, Any]) -> bool:
    """Whether a v2 "received request" line carries a program config: the initial request
    does; later ones (input, window size, stop) and the end of the stream do not."""
    return isinstance(_get(_get(entry, "req"), "config"), dict)


def scan_runme(directory: Path | str) -> RunmeImport:
    """Read Runme's JSON logs under `directory` (*.log, *.json, *.jsonl, recursively).

    Returns the `cell.executed` events (ordered by finish time) and counts of what was
    left out. Raises OSError when a file cannot be read.
    """
    found = RunmeImport()
    # Ordered by time (stable): a request and its finish may sit in different files.
    entries = sorted(
        (
            (ts, seq, run_id, entry)
            for seq, entry in enumerate(_log_lines(Path(directory), found))
            if (ts := _ts(entry)) is not None and (run_id := _run_id(entry)) is not None
        ),
        key=lambda item: (item[0], item[1]),
    )
    requests: dict[str, _Request] = {}
    started: dict[str, float] = {}  # run id -> when its first start or request line was
    finished: set[str] = set()
    for ts, _, run_id, entry in entries:
        msg = entry.get("msg")
        if run_id in finished:
            continue  # v2's second "command finished", and anything logged after the end
        if msg == REQUEST_MSG or (msg == LATER_REQUEST_MSG and _has_config(entry)):
            requests.setdefault(run_id, _Request(ts, entry))
            started.setdefault(run_id, ts)
        elif msg == STARTED_MSG:
            started.setdefault(run_id, ts)
        elif msg in FINISHED_MSGS:
            finished.add(run_id)
            request = requests.pop(run_id, None)
            start = started.pop(run_id, ts)
            if request is None:
                if not (_text(entry.get("knownID")) or _text(entry.get("knownName"))):
                    found.orphans += 1
                    continue
                request = _Request(start, {})  # v1 at info level: the finish line alone
            found.events.append(_event(run_id, request, ts, entry))

    found.unfinished = len(started)
    return found


def import_runme(directory: Path | str) -> list[CellExecuted]:
    """The `cell.executed` events in Runme's JSON logs under `directory`."""
    return scan_runme(directory).events
