"""The analyzer: the learning log → traces of what became of each suggested code cell.

For every code cell of a `suggestion.generated` event it keeps a trace: accepted or not,
executed as suggested, edited then executed (with a token-level edit distance), or not
executed; the exit code and the time from suggestion to execution. Per-model totals sit
beside the traces and change in the same batch, so `stats` reads a key per model.

A pass reads only the log after the offset the previous pass stored, keeps what it
touches in memory, and writes traces, totals and the new offset in one fenced batch per
`commit_every` events, so a crash loses no work that was committed and repeats none.
Damaged state is counted, never fatal: a trace that cannot be read is left alone (its
cell's later events are not applied), totals that cannot be read are counted again from
the traces, and an offset that cannot be read starts the analysis over from the log.

Layout (keys encoded with `ordered`):
  ("copilot.analyze", "offset")  → the log offset after the last event applied
  ("copilot.trace", cell_id)     → JSON array: a `Trace`'s fields in order (compact: a
                                   big pass writes hundreds of thousands of them)
  ("copilot.stats", model)       → JSON totals (see `ModelStats`)
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from ..learnlog._reader import Offset, log_paths
from ..store import KV, Fence, ordered
from ._errors import CopilotError

log = logging.getLogger(__name__)

Outcome = Literal["as_suggested", "edited", "not_executed"]

LOCK = "copilot.analyze"
COMMIT_EVERY = 200_000  # events per batch: bounds the memory of a pass and the redo after a crash
CACHE_LIMIT = 500_000  # traces kept in memory between batches of one pass
_OFFSET_KEY = ordered.encode("copilot.analyze", "offset")
_TRACE = ordered.encode("copilot.trace")
_TRACE_END = _TRACE + ordered.encode(ordered.Inf)
_STATS = ordered.encode("copilot.stats")
_STATS_END = _STATS + ordered.encode(ordered.Inf)
_WANTED = ("suggestion.generated", "suggestion.accepted", "cell.executed")
_EXECUTED_FIELDS = ("type", "time", "known_id", "source", "exit_code")


class AnalyzeError(CopilotError):
    """The analyzer's state in the store cannot be used."""


# -- whitespace normalisation and edit distance ------------------------------------------


def normalize(source: str) -> str:
    """The source with runs of blanks collapsed, lines trimmed and blank lines dropped."""
    lines = (" ".join(line.split()) for line in source.splitlines())
    return "\n".join(line for line in lines if line)


def tokens(source: str) -> list[str]:
    """Words separated by whitespace, with a "\\n" token between lines (blank lines ignored)."""
    out: list[str] = []
    for line in source.splitlines():
        words = line.split()
        if words:
            if out:
                out.append("\n")
            out.extend(words)
    return out


_MAX_CELLS = 1_000_000  # beyond this many DP cells, difflib's opcodes stand in


def token_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between token sequences: insertions, deletions, substitutions.

    The common prefix and suffix are cut first (edits are usually local); a middle too
    large for the quadratic table is counted from difflib's opcodes (an upper bound).
    """
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    x, y = a[start:end_a], b[start:end_b]
    if not x or not y:
        return max(len(x), len(y))
    if len(x) * len(y) > _MAX_CELLS:
        opcodes = difflib.SequenceMatcher(None, x, y, autojunk=False).get_opcodes()
        return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in opcodes if tag != "equal")
    previous = list(range(len(y) + 1))
    for i, token in enumerate(x, 1):
        current = [i]
        for j, other in enumerate(y, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (token != other))
            )
        previous = current
    return previous[-1]


def edit_distance(a: str, b: str) -> int:
    """Token-level Levenshtein distance between two cell sources (see `tokens`)."""
    return token_distance(tokens(a), tokens(b))


def seconds_between(start: str, end: str) -> float | None:
    """Seconds from one event time (RFC 3339) to another; None if either is unreadable."""
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


# -- reading the log fast -------------------------------------------------------------------

_CHUNK = 4 << 20
_CANONICAL = b'{"type":"'  # how Cairn's writer starts every line
_TYPE_AT = len(_CANONICAL)

Event = dict[str, Any]
LineReader = Callable[[bytes], Event | None]


class LogScan:
    """One pass over a learning log from a durable offset, yielding the events of `types`.

    It follows `cairn.learnlog`'s reader (manifest order, a torn last line is not
    consumed, a sealed file is drained before moving on, lines that are not JSON objects
    are skipped and counted) but decodes only what it yields: a line in the writer's
    canonical form (`{"type":"…"`) of a type not wanted is passed over unread, and one
    of a type in `readers` is handed to that reader, which may decode less than the
    whole line, or return None to pass over it (ValueError: not an event). `offset` is
    where the next pass resumes: after the last line consumed.
    """

    def __init__(
        self,
        directory: Path | str,
        offset: Offset | None,
        types: Collection[str],
        *,
        limit: int | None = None,
        readers: Mapping[str, LineReader] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.types = frozenset(types)
        self.limit = limit
        self.lines = 0  # event lines consumed, of every type
        self.skipped = 0  # lines that were not JSON events, and torn tails of sealed files
        self._file = offset.file if offset is not None else None
        self._pos = offset.pos if offset is not None else 0
        self._prefixes = tuple(_prefix(t) for t in sorted(self.types))
        self._readers = {t.encode(): read for t, read in (readers or {}).items()}

    @property
    def offset(self) -> Offset | None:
        return None if self._file is None else Offset(self._file, self._pos)

    def _files(self) -> list[str]:
        return [path.name for path in log_paths(self.directory)] if self.directory.is_dir() else []

    def _full(self) -> bool:
        return self.limit is not None and self.lines >= self.limit

    def __iter__(self) -> Iterator[Event]:
        files = self._files()
        if not files:
            return
        if self._file is None:
            self._file, self._pos = files[0], 0
        elif self._file not in files:
            # The offset's file is gone: resume at the next newer one, as the reader does.
            later = next((f for f in files if f > self._file), None)
            if later is None:
                return
            self._file, self._pos = later, 0
        while True:
            yield from self._read(self._file)
            following = _after(self._files(), self._file)
            if following is None or self._full():
                return
            # A newer file exists, so this one is sealed: drain what came before the rotation.
            if not (yield from self._read(self._file)):
                self.skipped += 1
            if self._full():
                return
            self._file, self._pos = following, 0

    def _read(self, name: str) -> Generator[Event, None, bool]:
        """Yield wanted events of `name` from the current position; True if it ended cleanly."""
        try:
            f = open(self.directory / name, "rb")  # noqa: SIM115 (closed below, in a generator)
        except FileNotFoundError:
            return True
        limit = -1 if self.limit is None else self.limit
        prefixes, readers = self._prefixes, self._readers
        with f:
            f.seek(self._pos)
            carry = b""
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    return not carry
                lines = (carry + chunk).split(b"\n")
                carry = lines.pop()
                # The hot loop: most lines are passed over on their first bytes alone,
                # and a line with a reader of its own is handed to it right here.
                pos, n = self._pos, self.lines
                for line in lines:
                    if n == limit:
                        break
                    pos += len(line) + 1
                    if line.startswith(_CANONICAL):
                        if not line.startswith(prefixes):
                            n += 1
                            continue
                        read = readers.get(line[_TYPE_AT : line.find(b'"', _TYPE_AT)])
                        if read is not None:
                            try:
                                event = read(line)
                            except ValueError:
                                self.skipped += 1
                                continue
                            n += 1
                            if event is not None:
                                self._pos, self.lines = pos, n
                                yield event
                            continue
                    self._pos, self.lines = pos, n
                    event = self._event(line)
                    n = self.lines
                    if event is not None:
                        yield event
                self._pos, self.lines = pos, n
                if n == limit:
                    return True

    def _event(self, line: bytes) -> Event | None:
        """Consume a line that may be a wanted event (and has no reader of its own): the
        event to yield, if any."""
        if not line.startswith(_CANONICAL) and not line.strip():
            return None
        try:
            event = decode_line(line)
        except ValueError:
            self.skipped += 1
            return None
        self.lines += 1
        return event if event["type"] in self.types else None


_SHORT_LINE = 2048  # bytes: a line this short is decoded whole (measured: cheaper than a cut)


def _prefix(event_type: str) -> bytes:
    return _CANONICAL + event_type.encode() + b'"'


def decode_line(line: bytes) -> Event:
    """A learning-log line as an event; ValueError when it is not a JSON object with a type.

    orjson, not `json`: decoding is most of what a pass costs, and orjson decodes the
    bytes as they are (no `str` first) several times faster."""
    event = orjson.loads(line)  # JSONDecodeError is a ValueError; so is invalid UTF-8
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ValueError("not an event")
    return event


def decode_head(line: bytes, stop: bytes, needs: Collection[str]) -> Event:
    """The fields of a canonical line before the top-level field `stop` (`b'"stdout":'`),
    decoded without the rest: what a cell's output would cost is not paid. Falls back to
    the whole line when the fields in `needs` are not all before `stop`, and decodes a
    short line whole at once (cutting it costs more than decoding what it holds)."""
    if len(line) <= _SHORT_LINE:
        return decode_line(line)
    cut = line.find(b"," + stop)
    if cut > 0:
        try:
            head = decode_line(line[:cut] + b"}")
        except ValueError:
            pass
        else:
            if all(key in head for key in needs):
                return head
    return decode_line(line)


_FIELD_PATTERNS: dict[bytes, re.Pattern[bytes]] = {}
_KNOWN_ID = re.compile(rb',"known_id":"([^"\\]*)"')


def top_level_string(line: bytes, key: bytes) -> str | None:
    """The value of a top-level string field of a canonical line without nested objects,
    read without decoding the line; None when absent or escaped.

    `key` is the field name with its quotes and colon and the value's opening quote
    (`b'"known_id":"'`). In JSON a quote inside a string is always escaped, so `,` + key
    can only be the field itself.
    """
    pattern = _FIELD_PATTERNS.get(key)
    if pattern is None:
        pattern = _FIELD_PATTERNS[key] = re.compile(b"," + re.escape(key) + rb'([^"\\]*)"')
    # One C-level search: this runs for nearly every execution in the log.
    found = pattern.search(line)
    if found is None:
        return None  # absent, or escaped (the value has a backslash)
    try:
        return found.group(1).decode()
    except UnicodeDecodeError:
        return None


def _after(files: list[str], name: str) -> str | None:
    if name in files:
        index = files.index(name) + 1
        return files[index] if index < len(files) else None
    return next((f for f in files if f > name), None)


def load_offset(kv: KV, key: bytes) -> Offset | None:
    raw = kv.get(key)
    if raw is None:
        return None
    try:
        return Offset.parse(raw.decode())
    except (UnicodeDecodeError, ValueError):
        raise AnalyzeError(
            f"the stored learning-log offset {raw[:80]!r} is damaged; delete the copilot's"
            " state to start over"
        ) from None


# -- traces and totals ----------------------------------------------------------------------


# In a pass a trace is a plain dict of strings, numbers and None (the JSON it is stored
# as): the cyclic GC does not track such dicts, and a big pass holds hundreds of thousands.
_Record = dict[str, Any]


@dataclass(frozen=True)
class Trace:
    """What became of one suggested code cell (the latest execution decides the outcome)."""

    cell_id: str
    trace_id: str
    model: str
    suggested: str  # the suggested source
    suggested_at: str  # the suggestion event's time
    notebook_path: str | None = None
    accepted: bool = False
    outcome: Outcome = "not_executed"
    executions: int = 0
    edit_distance: int | None = None  # tokens changed in the latest execution (0: as suggested)
    executed_source: str | None = None  # the latest execution's source
    exit_code: int | None = None  # the latest execution's
    seconds_to_execution: float | None = None  # from the suggestion to the first execution


def _new_record(cell_id: str, trace_id: str, model: str, source: str, at: str) -> _Record:
    return {
        "cell_id": cell_id,
        "trace_id": trace_id,
        "model": model,
        "suggested": source,
        "suggested_at": at,
        "notebook_path": None,
        "accepted": False,
        "outcome": "not_executed",
        "executions": 0,
        "edit_distance": None,
        "executed_source": None,
        "exit_code": None,
        "seconds_to_execution": None,
    }


_FIELDS = tuple(f.name for f in fields(Trace))


_NONE = type(None)
# The JSON types of a stored trace's values, in `_FIELDS` order.
_TYPES: tuple[tuple[type, ...], ...] = (
    (str,),
    (str,),
    (str,),
    (str,),
    (str,),
    (str, _NONE),
    (bool,),
    (str,),
    (int,),
    (int, _NONE),
    (str, _NONE),
    (int, _NONE),
    (int, float, _NONE),
)
_OUTCOMES = frozenset(("as_suggested", "edited", "not_executed"))


def _load_record(raw: bytes) -> _Record:
    try:
        values = orjson.loads(raw)
    except ValueError:
        values = None
    if (
        not isinstance(values, list)
        or not 5 <= len(values) <= len(_FIELDS)
        or not all(isinstance(v, t) for v, t in zip(values, _TYPES, strict=False))
    ):
        raise AnalyzeError(f"a stored trace is damaged: {raw[:80]!r}")
    record = _new_record(*values[:5])
    record.update(zip(_FIELDS[5:], values[5:], strict=False))  # newer fields: defaults
    if record["outcome"] not in _OUTCOMES:
        raise AnalyzeError(f"a stored trace is damaged: {raw[:80]!r}")
    return record


def _to_trace(record: _Record) -> Trace:
    return Trace(**record)


def _contribution(record: _Record) -> tuple[int, ...]:
    """A trace's share of its model's totals, in `ModelStats._COUNTERS` order."""
    outcome = record["outcome"]
    exit_code = record["exit_code"]
    edited = outcome == "edited"
    return (
        1,
        1 if record["accepted"] else 0,
        1 if outcome == "as_suggested" else 0,
        1 if edited else 0,
        1 if outcome == "not_executed" else 0,
        1 if exit_code is not None and exit_code != 0 else 0,
        (record["edit_distance"] or 0) if edited else 0,
    )


@dataclass(frozen=True)
class ModelStats:
    """A model's suggestion totals: cells shown (suggested) and what became of them."""

    model: str
    shown: int = 0
    accepted: int = 0
    executed_as_suggested: int = 0
    edited: int = 0
    not_executed: int = 0
    failed: int = 0  # executed (latest run) with a non-zero exit code
    edit_distance_sum: int = 0  # over the edited ones

    _COUNTERS = (
        "shown",
        "accepted",
        "executed_as_suggested",
        "edited",
        "not_executed",
        "failed",
        "edit_distance_sum",
    )

    @property
    def mean_edit_distance(self) -> float | None:
        return self.edit_distance_sum / self.edited if self.edited else None

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.shown if self.shown else None

    def counters(self) -> list[int]:
        return [int(getattr(self, name)) for name in self._COUNTERS]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"model": self.model}
        data.update(zip(self._COUNTERS, self.counters(), strict=True))
        data["mean_edit_distance"] = self.mean_edit_distance
        data["acceptance_rate"] = self.acceptance_rate
        return data

    @classmethod
    def from_counters(cls, model: str, values: Sequence[int]) -> ModelStats:
        return cls(model, *values)


def _stats_key(model: str) -> bytes:
    return _STATS + ordered.encode(model)


def _trace_key(cell_id: str) -> bytes:
    return _TRACE + ordered.encode_str(cell_id)


def _load_stats(model: str, raw: bytes | None) -> ModelStats:
    if raw is None:
        return ModelStats(model)
    try:
        data = json.loads(raw)
        return ModelStats.from_counters(model, [int(data[k]) for k in ModelStats._COUNTERS])
    except (ValueError, TypeError, KeyError):
        raise AnalyzeError(f"the stored totals of {model!r} are damaged") from None


def recount(kv: KV, model: str) -> list[int]:
    """A model's totals counted from its stored traces (damaged ones left out), in
    `ModelStats._COUNTERS` order: what stands in for totals that cannot be read."""
    totals = [0] * len(ModelStats._COUNTERS)
    for record in _records(kv):
        if record["model"] == model:
            for i, share in enumerate(_contribution(record)):
                totals[i] += share
    return totals


def stats(kv: KV) -> dict[str, ModelStats]:
    """Per-model totals, by model name (damaged totals are counted again from traces)."""
    out: dict[str, ModelStats] = {}
    for key, raw in kv.scan(_STATS, _STATS_END):
        model = ordered.decode(key, str, str)[1]
        try:
            out[model] = _load_stats(model, raw)
        except AnalyzeError as exc:
            log.warning("%s: counting them again from the traces", exc)
            out[model] = ModelStats.from_counters(model, recount(kv, model))
    return out


def get_trace(kv: KV, cell_id: str) -> Trace | None:
    """The trace of a suggested cell, or None. Raises AnalyzeError when it is damaged."""
    raw = kv.get(_trace_key(cell_id))
    return None if raw is None else _to_trace(_load_record(raw))


def _records(kv: KV) -> Iterator[_Record]:
    for key, raw in kv.scan(_TRACE, _TRACE_END):
        try:
            yield _load_record(raw)
        except AnalyzeError as exc:
            log.warning("skipping %r: %s", key, exc)


def traces(kv: KV) -> Iterator[Trace]:
    """Every trace, by cell id (damaged ones are logged and left out)."""
    for record in _records(kv):
        yield _to_trace(record)


# -- the analyzer ---------------------------------------------------------------------------


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
    fence: Fence | None
    counts: AnalyzeCounts = field(default_factory=AnalyzeCounts)
    records: dict[str, _Record] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)  # ids known not to be suggested cells
    before: dict[str, tuple[int, ...] | None] = field(default_factory=dict)  # dirty → at load
    totals: dict[str, list[int]] = field(default_factory=dict)  # by model, as committed
    # No trace was stored when the pass began: every trace is then in `records`, and an
    # execution of any other cell needs no look-up (a first, bulk pass runs mostly so).
    only_in_memory: bool = False

    def __post_init__(self) -> None:
        self.only_in_memory = next(self.kv.scan(_TRACE, _TRACE_END), None) is None

    def find(self, cell_id: object) -> _Record | None:
        """The trace of a suggested cell, from memory or the store (None: there is none,
        or it is damaged: a damaged trace is left as it is)."""
        if not isinstance(cell_id, str) or not cell_id or cell_id in self.missing:
            return None
        record = self.records.get(cell_id)
        if record is None:
            raw = None if self.only_in_memory else self.kv.get(_trace_key(cell_id))
            if raw is None:
                self.missing.add(cell_id)
                return None
            try:
                record = _load_record(raw)
            except AnalyzeError as exc:
                log.warning("%s: leaving it as it is", exc)
                self.counts.damaged += 1
                self.missing.add(cell_id)
                return None
            self.records[cell_id] = record
        return record

    def record(self, cell_id: object) -> _Record | None:
        """The trace of a suggested cell (see `find`), about to change."""
        record = self.find(cell_id)
        if record is not None and cell_id not in self.before:
            self.before[record["cell_id"]] = _contribution(record)  # its share of the totals
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
            record = _new_record(cell_id, trace_id, model, str(cell.get("source") or ""), at)
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
            rows.append((_TRACE + key(cell_id), dump(list(record.values()))))
            model = record["model"]
            added.setdefault(model, []).append(_contribution(record))
            if old is not None:
                removed.setdefault(model, []).append(old)
        batch.set_many(rows)
        for model, shares in added.items():
            totals = self._totals(model)
            for i, column in enumerate(zip(*shares, strict=True)):
                totals[i] += sum(column)
            for i, column in enumerate(zip(*removed.get(model, ()), strict=True)):
                totals[i] -= sum(column)
            data = dict(zip(ModelStats._COUNTERS, totals, strict=True))
            batch.set(_stats_key(model), json.dumps(data, sort_keys=True).encode())
        if offset is not None:
            batch.set(_OFFSET_KEY, str(offset).encode())
        batch.apply(self.fence)
        self.counts.traces_written += len(self.before)
        self.before.clear()
        if len(self.records) > CACHE_LIMIT:
            self.records.clear()
            self.missing.clear()
            self.only_in_memory = False  # what was just written is only in the store now

    def _totals(self, model: str) -> list[int]:
        totals = self.totals.get(model)
        if totals is None:
            raw = self.kv.get(_stats_key(model))
            try:
                totals = _load_stats(model, raw).counters()
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
        return load_offset(self.kv, _OFFSET_KEY)

    def run(self, max_events: int | None = None) -> AnalyzeCounts:
        """Apply the events after the stored offset (at most `max_events` of them)."""
        token = self.kv.lock(LOCK)
        try:
            fence = (LOCK, token)
            try:
                offset = self.offset()
            except AnalyzeError as exc:
                # Traces are made from the log alone: make them again from its start.
                log.warning("%s: analyzing the log from its start again", exc)
                _reset(self.kv, fence)
                offset, damaged = None, 1
            else:
                damaged = 0
            state = _Pass(self.kv, fence)
            state.counts.damaged += damaged
            scan = LogScan(
                self.log_dir,
                offset,
                _WANTED,
                limit=max_events,
                readers={"cell.executed": state.read_executed},
            )
            self._apply(state, scan)
            state.commit(scan.offset)
        finally:
            self.kv.unlock(LOCK)
        counts = state.counts
        counts.events, counts.skipped = scan.lines, scan.skipped
        counts.offset = None if scan.offset is None else str(scan.offset)
        return counts

    def _apply(self, state: _Pass, scan: LogScan) -> None:
        handlers = {
            "suggestion.generated": state.generated,
            "suggestion.accepted": state.accepted,
            "cell.executed": state.executed,
        }
        next_commit = self.commit_every
        for event in scan:
            try:
                handlers[event["type"]](event)
            except (AttributeError, TypeError, ValueError):
                state.counts.malformed += 1
            if scan.lines >= next_commit:
                state.commit(scan.offset)
                next_commit = scan.lines + self.commit_every

    def reset(self) -> None:
        """Forget every trace, the totals and the offset: the next pass starts over."""
        token = self.kv.lock(LOCK)
        try:
            _reset(self.kv, (LOCK, token))
        finally:
            self.kv.unlock(LOCK)


def _reset(kv: KV, fence: Fence) -> None:
    batch = kv.batch()
    batch.delete_range(_TRACE, _TRACE_END)
    batch.delete_range(_STATS, _STATS_END)
    batch.delete(_OFFSET_KEY)
    batch.apply(fence)


def analyze(kv: KV, log_dir: Path | str, max_events: int | None = None) -> AnalyzeCounts:
    """One analyzer pass (see `Analyzer.run`)."""
    return Analyzer(kv, log_dir).run(max_events)
