"""What a notebook's cells printed when they last ran: the latest `cell.executed` event of
each cell of each notebook, kept in the store and brought up to date from the learning
log incrementally, so that a suggestion reads a few keys instead of the whole log.

`OutputHistory.update()` applies the executions logged since its stored offset, as the
learning-log consumer `copilot.history` (its lock, and one fenced batch of entries and
offset per `COMMIT_EVERY` events);
`executions(notebook)` returns the notebook's latest executions by cell id and by cell
name, the shape `_executions.attach_executions` matches cells against. A cell without an
`id` attribute gets a new id in every process, so when a cell name's latest execution
moves to a new id, the entry of the old id is dropped: entries stay bounded by the cells
of a notebook, not by how often they ran.

Layout (keys encoded with `ordered`):
  ("copilot.history", "offset")                     → the log offset after the last event
  ("copilot.history.cell", notebook, "id", id)      → JSON: the execution (fields below)
  ("copilot.history.cell", notebook, "name", name)  → the same, for the name's latest run
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..learnlog import LearningLogError, LogConsumer, Offset
from ..store import KV, LockTimeoutError, ordered
from ._logscan import Event, LogReader, decode_line

log = logging.getLogger(__name__)

LOCK = "copilot.history"
COMMIT_EVERY = 20_000  # events per batch
LOCK_WAIT = 2.0  # seconds a reader waits for another process's update before reading as is
# What a prompt needs of an execution (see _executions._with_execution).
FIELDS = (
    "type",
    "time",
    "notebook_path",
    "known_id",
    "known_name",
    "interactive",
    "exit_code",
    "stdout",
    "stderr",
    "stdout_truncated",
    "stderr_truncated",
)
_CELLS = ordered.encode("copilot.history.cell")
_NULL_NOTEBOOK = b'"notebook_path":null'


@dataclass
class HistoryCounts:
    events: int = 0  # event lines read, of every type
    recorded: int = 0  # executions of a notebook's cells written
    skipped: int = 0  # lines that were not JSON events
    malformed: int = 0  # executions with fields of the wrong shape
    offset: str | None = None


def _notebook_key(path: str) -> bytes:
    return _CELLS + ordered.encode(path)


def _key(path: str, kind: str, value: str) -> bytes:
    return _CELLS + ordered.encode(path, kind, value)


def _read(line: bytes) -> Event | None:
    """An execution of a notebook's cell, decoded whole (its outputs are what we keep);
    None for executions outside a notebook."""
    if _NULL_NOTEBOOK in line:
        return None
    return decode_line(line)


def _record(event: Event) -> dict[str, Any] | None:
    """The stored form of an execution; None when it is not one of a notebook's cells."""
    path, cell_id, name = (event.get(k) for k in ("notebook_path", "known_id", "known_name"))
    if not isinstance(path, str) or not path:
        return None
    if not isinstance(cell_id, str) or not isinstance(name, str):
        raise ValueError("known_id and known_name must be strings")
    if not cell_id and not name:
        return None
    return {k: event.get(k) for k in FIELDS}


class OutputHistory:
    """The latest executions of notebooks' cells, from the learning log in `log_dir`."""

    def __init__(self, kv: KV, log_dir: Path | str, *, commit_every: int = COMMIT_EVERY) -> None:
        self.kv = kv
        self.log_dir = Path(log_dir)
        self.commit_every = max(1, commit_every)

    def update(self, *, wait: float | None = LOCK_WAIT) -> HistoryCounts:
        """Apply the executions logged since the last update. Waits up to `wait` seconds
        (None: as long as it takes) for another process's update; then returns without
        one (`events` 0): what is stored is at most that update behind."""
        consumer = LogConsumer(self.kv, LOCK)
        try:
            with consumer.locked(timeout=wait):
                return self._update(consumer)
        except LockTimeoutError:
            log.info("output history: another process is updating it; reading it as is")
            return HistoryCounts()

    def _update(self, consumer: LogConsumer) -> HistoryCounts:
        counts = HistoryCounts()
        try:
            offset = consumer.offset()
        except LearningLogError as exc:
            log.warning("%s: reading the output history from the log's start again", exc)
            offset = None
        scan = LogReader(self.log_dir, offset, ("cell.executed",), readers={"cell.executed": _read})
        start = offset
        pending: dict[bytes, bytes | None] = {}  # key → value (None: delete), in order
        latest_by_name: dict[bytes, str] = {}  # name key → id of its latest run, this pass
        next_commit = self.commit_every
        for event in scan.events():
            try:
                record = _record(event)
            except ValueError:
                counts.malformed += 1
                continue
            if record is not None:
                self._apply(record, pending, latest_by_name)
                counts.recorded += 1
            if scan.counts.events >= next_commit:
                self._commit(consumer, pending, scan.offset)
                next_commit = scan.counts.events + self.commit_every
        if pending or scan.offset != start:  # nothing new: nothing to write
            self._commit(consumer, pending, scan.offset)
        counts.events, counts.skipped = scan.counts.events, scan.counts.skipped
        counts.offset = None if scan.offset is None else str(scan.offset)
        return counts

    def _apply(
        self,
        record: dict[str, Any],
        pending: dict[bytes, bytes | None],
        latest_by_name: dict[bytes, str],
    ) -> None:
        path, cell_id, name = record["notebook_path"], record["known_id"], record["known_name"]
        value = orjson.dumps(record)
        if cell_id:
            key = _key(path, "id", cell_id)
            pending.pop(key, None)  # keep `pending` in log order: the latest write last
            pending[key] = value
        if not name:
            return
        name_key = _key(path, "name", name)
        previous = latest_by_name.get(name_key)
        if previous is None:
            previous = self._stored_id(name_key)
        if previous and previous != cell_id:
            old = _key(path, "id", previous)  # the cell's id of an earlier process
            pending.pop(old, None)
            pending[old] = None
        latest_by_name[name_key] = cell_id
        pending.pop(name_key, None)
        pending[name_key] = value

    def _stored_id(self, name_key: bytes) -> str:
        raw = self.kv.get(name_key)
        if raw is None:
            return ""
        try:
            cell_id = orjson.loads(raw).get("known_id")
        except (ValueError, AttributeError):
            return ""
        return cell_id if isinstance(cell_id, str) else ""

    def _commit(
        self, consumer: LogConsumer, pending: dict[bytes, bytes | None], offset: Offset | None
    ) -> None:
        batch = self.kv.batch()
        for key, value in pending.items():
            if value is None:
                batch.delete(key)
            else:
                batch.set(key, value)
        consumer.commit(batch, offset)
        pending.clear()

    def executions(self, notebook: Path | str) -> list[dict[str, Any]]:
        """The notebook's latest executions (by cell id and by cell name), oldest first.
        An entry that cannot be read is logged and left out."""
        path = str(Path(notebook).resolve())
        start = _notebook_key(path)
        out = list(self._entries(start, start + ordered.encode(ordered.Inf)))
        out.sort(key=lambda e: str(e.get("time") or ""))
        return out

    def _entries(self, start: bytes, end: bytes) -> Iterator[dict[str, Any]]:
        for key, raw in self.kv.scan(start, end):
            try:
                entry = orjson.loads(raw)
            except ValueError:
                entry = None
            if isinstance(entry, dict):
                yield entry
            else:
                log.warning("output history: skipping a damaged entry %r", key[:80])


def executions_for(kv: KV, log_dir: Path, notebook: Path) -> list[dict[str, Any]]:
    """The latest executions of `notebook`'s cells, after bringing the history up to date
    with the learning log in `log_dir`."""
    history = OutputHistory(kv, log_dir)
    history.update()
    return history.executions(notebook)
