"""The analyzer: the learning log → traces of what became of each suggested code cell.

For every code cell of a `suggestion.generated` event it keeps a trace (`_traces`):
accepted or not, executed as suggested, edited then executed (with a token-level edit
distance, `_edits`), or not executed; the exit code and the time from suggestion to
execution. Per-model totals sit beside the traces and change in the same batch, so
`stats` reads a key per model.

A pass reads only the log after the offset the previous pass stored (as the learning-log
consumer `copilot.analyze`, reading through `_logscan`), keeps
what it touches in memory, and writes traces, totals and the new offset in one fenced
batch per `commit_every` events, so a crash loses no work that was committed and repeats
none. Damaged state is counted, never fatal: a trace that cannot be read is left alone
(its cell's later events are not applied), totals that cannot be read are counted again
from the traces, and an offset that cannot be read starts the analysis over from the log.

Layout (keys encoded with `ordered`; traces and totals: see `_traces`):
  ("copilot.analyze", "offset")  → the log offset after the last event applied
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..learnlog import LearningLogError, LogConsumer, Offset
from ..store import KV, ordered
from ._edits import edit_distance, normalize
from ._errors import AnalyzeError
from ._logscan import Event, LogReader, decode_head, seconds_between
from ._traces import (
    TRACE,
    Record,
    any_stored,
    contribution,
    delete_all,
    dump_stats,
    load_record,
    load_stats,
    new_record,
    recount,
    stats_key,
    trace_key,
)

log = logging.getLogger(__name__)

LOCK = "copilot.analyze"
COMMIT_EVERY = 200_000  # events per batch: bounds the memory of a pass and the redo after a crash
CACHE_LIMIT = 500_000  # traces kept in memory between batches of one pass
_WANTED = ("suggestion.generated", "suggestion.accepted", "cell.executed")
_EXECUTED_FIELDS = ("type", "time", "known_id", "source", "exit_code")
_KNOWN_ID = re.compile(rb',"known_id":"([^"\\]*)"')


@dataclass
class AnalyzeCounts:
    """What a pass did."""

    events: int = 0  # event lines read, of every type
    skipped: int = 0  # lines that were not JSON events
    malformed: int = 0  # events of a wanted type with fields of the wrong shape
    damaged: int = 0  # stored traces, totals or offset that could not be read
    suggested: int = 0  # suggested code cells: new traces
    accepted: int = 0  # acceptances of a known suggested cell
    executed: int = 0  # executions of a known suggested cell
    traces_written: int = 0
    offset: str | None = None  # where the next pass starts

    def add(self, other: AnalyzeCounts) -> None:
        names = ("events", "skipped", "malformed", "damaged", "suggested", "accepted", "executed")
        for name in names:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.traces_written += other.traces_written
        self.offset = other.offset


@dataclass
class _Pass:
    """The in-memory state of one pass: traces read or made, and their state at load."""

    kv: KV
    consumer: LogConsumer  # held (locked) for the whole pass
    counts: AnalyzeCounts = field(default_factory=AnalyzeCounts)
    records: dict[str, Record] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)  # ids known not to be suggested cells
    before: dict[str, tuple[int, ...] | None] = field(default_factory=dict)  # dirty → at load
    totals: dict[str, list[int]] = field(default_factory=dict)  # by model, as committed
    # No trace was stored when the pass began: every trace is then in `records`, and an
    # execution of any other cell needs no look-up (a first, bulk pass runs mostly so).
    only_in_memory: bool = False

    def __post_init__(self) -> None:
        self.only_in_memory = not any_stored(self.kv)

    def find(self, cell_id: object) -> Record | None:
        """The trace of a suggested cell, from memory or the store (None: there is none,
        or it is damaged: a damaged trace is left as it is)."""
        if not isinstance(cell_id, str) or not cell_id or cell_id in self.missing:
            return None
        record = self.records.get(cell_id)
        if record is None:
            raw = None if self.only_in_memory else self.kv.get(trace_key(cell_id))
            if raw is None:
                self.missing.add(cell_id)
                return None
            try:
                record = load_record(raw)
            except AnalyzeError as exc:
                log.warning("%s: leaving it as it is", exc)
                self.counts.damaged += 1
                self.missing.add(cell_id)
                return None
            self.records[cell_id] = record
        return record

    def record(self, cell_id: object) -> Record | None:
        """The trace of a suggested cell (see `find`), about to change."""
        record = self.find(cell_id)
        if record is not None and cell_id not in self.before:
            self.before[record["cell_id"]] = contribution(record)  # its share of the totals
        return record

    def read_executed(self, line: bytes) -> Event | None:
        """A `cell.executed` line, decoded up to its outputs; None (not decoded at all)
        when it is of a cell known not to be suggested."""
        found = _KNOWN_ID.search(line)  # as top_level_string does, inlined: the hot path
        if found is not None:
            try:
                cell_id = found.group(1).decode()
            except UnicodeDecodeError:
                pass
            else:
                if cell_id not in self.records and (self.only_in_memory or cell_id in self.missing):
                    return None
        return decode_head(line, b'"stdout":', _EXECUTED_FIELDS)

    def generated(self, event: dict[str, Any]) -> None:
        cells = event.get("cells") or []
        if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
            raise ValueError("cells is not a list of objects")
        trace_id = str(event.get("trace_id") or "")
        model = str(event.get("model") or "unknown")
        at = str(event.get("time") or "")
        path = event.get("notebook_path")
        path = path if isinstance(path, str) else None
        records, missing = self.records, self.missing
        for cell in cells:
            cell_id = cell.get("id")
            if cell.get("kind") != "code" or not isinstance(cell_id, str) or not cell_id:
                continue
            if cell_id in records or (cell_id not in missing and self.find(cell_id) is not None):
                continue  # the same suggestion logged twice
            record = new_record(cell_id, trace_id, model, str(cell.get("source") or ""), at)
            record["notebook_path"] = path
            records[cell_id] = record
            missing.discard(cell_id)
            self.before[cell_id] = None
            self.counts.suggested += 1

    def accepted(self, event: dict[str, Any]) -> None:
        record = self.record(event.get("cell_id"))
        if record is not None:
            self.counts.accepted += 1
            record["accepted"] = True

    def executed(self, event: dict[str, Any]) -> None:
        source = event.get("source") or ""
        if not isinstance(source, str):
            raise ValueError("source is not a string")
        record = self.record(event.get("known_id"))
        if record is None:
            return
        self.counts.executed += 1
        suggested = record["suggested"]
        if source == suggested or normalize(source) == normalize(suggested):
            record["outcome"], record["edit_distance"] = "as_suggested", 0
        else:
            record["outcome"] = "edited"
            record["edit_distance"] = edit_distance(suggested, source)
        exit_code = event.get("exit_code")
        record["exit_code"] = exit_code if isinstance(exit_code, int) else None
        record["executed_source"] = source
        if not record["executions"]:
            record["seconds_to_execution"] = seconds_between(
                record["suggested_at"], str(event.get("time") or "")
            )
        record["executions"] += 1

    def commit(self, offset: Offset | None) -> None:
        """Write the traces changed since the last commit, the totals and `offset`."""
        batch = self.kv.batch()
        added: dict[str, list[tuple[int, ...]]] = {}
        removed: dict[str, list[tuple[int, ...]]] = {}
        records, key, dump = self.records, ordered.encode_str, orjson.dumps
        rows = []
        for cell_id, old in self.before.items():
            record = records[cell_id]
            # Records are built (and loaded) with their keys in `_FIELDS` order.
            rows.append((TRACE + key(cell_id), dump(list(record.values()))))
            model = record["model"]
            added.setdefault(model, []).append(contribution(record))
            if old is not None:
                removed.setdefault(model, []).append(old)
        batch.set_many(rows)
        for model, shares in added.items():
            totals = self._totals(model)
            for i, column in enumerate(zip(*shares, strict=True)):
                totals[i] += sum(column)
            for i, column in enumerate(zip(*removed.get(model, ()), strict=True)):
                totals[i] -= sum(column)
            batch.set(stats_key(model), dump_stats(totals))
        self.consumer.commit(batch, offset)
        self.counts.traces_written += len(self.before)
        self.before.clear()
        if len(self.records) > CACHE_LIMIT:
            self.records.clear()
            self.missing.clear()
            self.only_in_memory = False  # what was just written is only in the store now

    def _totals(self, model: str) -> list[int]:
        totals = self.totals.get(model)
        if totals is None:
            raw = self.kv.get(stats_key(model))
            try:
                totals = load_stats(model, raw).counters()
            except AnalyzeError as exc:
                # Counted from the stored traces, which this commit has not changed yet.
                log.warning("%s: counting them again from the traces", exc)
                self.counts.damaged += 1
                totals = recount(self.kv, model)
            self.totals[model] = totals
        return totals


class Analyzer:
    """Turns the learning log in `log_dir` into traces in `kv`, incrementally.

    Passes of several processes on one store take turns (store lock `copilot.analyze`).
    """

    def __init__(self, kv: KV, log_dir: Path | str, *, commit_every: int = COMMIT_EVERY) -> None:
        self.kv = kv
        self.log_dir = Path(log_dir)
        self.commit_every = max(1, commit_every)

    def offset(self) -> Offset | None:
        """Where the next pass starts (None: at the beginning of the log). Raises
        AnalyzeError when the stored offset is damaged (a pass then starts over)."""
        try:
            return LogConsumer(self.kv, LOCK).offset()
        except LearningLogError as exc:
            raise AnalyzeError(f"{exc}; delete the copilot's state to start over") from None

    def run(self, max_events: int | None = None) -> AnalyzeCounts:
        """Apply the events after the stored offset (at most `max_events` of them)."""
        consumer = LogConsumer(self.kv, LOCK)
        with consumer.locked():
            try:
                offset = consumer.offset()
            except LearningLogError as exc:
                # Traces are made from the log alone: make them again from its start.
                log.warning("%s: analyzing the log from its start again", exc)
                _reset(consumer)
                offset, damaged = None, 1
            else:
                damaged = 0
            state = _Pass(self.kv, consumer)
            state.counts.damaged += damaged
            scan = LogReader(
                self.log_dir,
                offset,
                _WANTED,
                limit=max_events,
                readers={"cell.executed": state.read_executed},
            )
            self._apply(state, scan)
            state.commit(scan.offset)
        counts = state.counts
        counts.events, counts.skipped = scan.counts.events, scan.counts.skipped
        counts.offset = None if scan.offset is None else str(scan.offset)
        return counts

    def _apply(self, state: _Pass, scan: LogReader) -> None:
        handlers = {
            "suggestion.generated": state.generated,
            "suggestion.accepted": state.accepted,
            "cell.executed": state.executed,
        }
        next_commit = self.commit_every
        for event in scan.events():
            try:
                handlers[event["type"]](event)
            except (AttributeError, TypeError, ValueError):
                state.counts.malformed += 1
            if scan.counts.events >= next_commit:
                state.commit(scan.offset)
                next_commit = scan.counts.events + self.commit_every

    def reset(self) -> None:
        """Forget every trace, the totals and the offset: the next pass starts over."""
        consumer = LogConsumer(self.kv, LOCK)
        with consumer.locked():
            _reset(consumer)


def _reset(consumer: LogConsumer) -> None:
    batch = consumer.kv.batch()
    delete_all(batch)
    consumer.restart(batch)


def analyze(kv: KV, log_dir: Path | str, max_events: int | None = None) -> AnalyzeCounts:
    """One analyzer pass (see `Analyzer.run`)."""
    return Analyzer(kv, log_dir).run(max_events)
