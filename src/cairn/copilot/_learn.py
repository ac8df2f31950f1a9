"""The learner: successful executions in the learning log → examples for retrieval.

Each `cell.executed` that exited 0 (not timed out, not cancelled) becomes an `Example`
keyed by `query_text` of what came before the cell: the notebook's cells when the
notebook file is readable and holds the cell, else the commands run before it in the
same stream (below). Not learned: failed runs; a run replaced right after by an edited
form of it (only the final form is learned, so a wrong command that happened to exit 0
is not, see Foyle #298); the same cell for the same query twice.

Runs are compared within a stream: the runs of one notebook, whichever sessions and
processes ran them (`cairn run CELL --file F` is one process and one session per cell),
else the runs of one session. A later run of the stream replaces the earlier one when it
is the same cell (the same cell id, or the same name in the same notebook: a cell
without an `id` attribute gets a new id in every process; an unnamed cell's generated
name carries its position) run again in edited form within `RERUN_WINDOW`. Whether two
runs are of one cell is decided by the cell's identity alone, never by how alike their
commands are: `kubectl get pods` then `kubectl get pods -o wide` in two cells are two
examples, as Foyle #298 meant. The same cell run again unchanged within
`RERUN_WINDOW` stands for the earlier run (a duplicate), so that an edit after it
replaces both.

The stream's latest run waits ("pending") until the stream's next run, or until more
than `RERUN_WINDOW` seconds have passed since it by the learner's clock: only then is it
known whether it was replaced. A session's end settles the pending run of a session
stream, not of a notebook's: the next run of a notebook is usually another session. The
learner is incremental like the analyzer: its offset and the streams' state live in the
store, written in one fenced batch per commit; a stream silent for `STALE_AFTER` is
forgotten. Damaged state (the offset, a stream's) is counted and rebuilt, never fatal.

Layout (keys encoded with `ordered`):
  ("copilot.learn", "offset")             → the log offset after the last event applied
  ("copilot.learn.notebook", path)        → JSON: recent commands and the pending run
  ("copilot.learn.session", session_id)   → the same, for runs outside a notebook
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..learnlog import LearningLogError, LogConsumer, Offset
from ..store import KV, ordered
from ._analyze import AnalyzeCounts, Analyzer
from ._edits import normalize
from ._errors import AnalyzeError
from ._logscan import Event, LogReader, decode_head, seconds_between
from ._situation import example_at
from ._types import ContextCell, Example

if TYPE_CHECKING:
    from ..index import Embedder
    from ._examples import ExampleIndex

log = logging.getLogger(__name__)

LOCK = "copilot.learn"
RERUN_WINDOW = 600.0  # seconds: the same cell run again within this replaces the earlier run
HISTORY = 4  # commands remembered per stream, for the query of the next one
STALE_AFTER = 86_400.0  # seconds: a stream silent this long is forgotten
COMMIT_EVERY = 100_000  # events per batch
EXAMPLES_PER_COMMIT = 512  # examples embedded and stored per batch

_NOTEBOOK = "copilot.learn.notebook"
_SESSION = "copilot.learn.session"
_TYPES = ("cell.executed", "session.ended")
_EXECUTED_FIELDS = (  # what the learner reads of a `cell.executed` event, before its outputs
    "type",
    "time",
    "session_id",
    "notebook_path",
    "known_id",
    "known_name",
    "source",
    "exit_code",
)


@dataclass
class LearnCounts:
    """What a pass did with the executions it read."""

    events: int = 0  # event lines read, of every type
    skipped: int = 0  # lines that were not JSON events
    malformed: int = 0  # events of a wanted type with fields of the wrong shape
    damaged: int = 0  # stored state that could not be read: dropped and rebuilt
    executions: int = 0
    learned: int = 0  # new examples stored
    failed: int = 0  # not learned: non-zero exit code, timed out or cancelled
    replaced: int = 0  # not learned: run again in edited form right after
    duplicates: int = 0  # not learned: the same cell for the same query is known
    no_context: int = 0  # not learned: nothing before it to find it by
    pending: int = 0  # latest runs of their stream, which a next run may still replace
    offset: str | None = None


@dataclass
class _Run:
    """One execution, as the learner remembers it while it may still be replaced."""

    known_id: str
    source: str
    language: str
    time: str
    ok: bool
    notebook_path: str | None
    known_name: str

    @classmethod
    def of(cls, event: Event) -> _Run:
        """The run of a `cell.executed` event; ValueError when its fields do not fit."""
        source = event.get("source") or ""
        exit_code = event.get("exit_code")
        path = event.get("notebook_path") or None
        if (
            not isinstance(source, str)
            or not isinstance(path, str | None)
            or not isinstance(exit_code, int | None)
        ):
            raise ValueError("a cell.executed event with fields of the wrong type")
        return cls(
            known_id=str(event.get("known_id") or ""),
            source=source,
            language=str(event.get("language") or "sh"),
            time=str(event.get("time") or ""),
            ok=exit_code == 0 and not event.get("timed_out") and not event.get("cancelled"),
            notebook_path=path,
            known_name=str(event.get("known_name") or ""),
        )

    @classmethod
    def load(cls, data: object) -> _Run:
        """The inverse of `dump`; ValueError or TypeError when `data` does not fit."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        run = cls(**data)
        texts = (run.known_id, run.source, run.language, run.time, run.known_name)
        if (
            not all(isinstance(text, str) for text in texts)
            or not isinstance(run.ok, bool)
            or not isinstance(run.notebook_path, str | None)
        ):
            raise ValueError("fields of the wrong type")
        return run

    def dump(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Stream:
    """The runs of one notebook (or session) the learner remembers between events."""

    history: list[str] = field(default_factory=list)  # recent commands, oldest first
    pending: _Run | None = None
    time: str = ""  # of the stream's latest run
    ended: bool = False  # to be forgotten at the next commit

    def dump(self) -> bytes:
        pending = self.pending.dump() if self.pending is not None else None
        data = {"history": self.history, "pending": pending, "time": self.time}
        return json.dumps(data, ensure_ascii=False).encode()

    @classmethod
    def load(cls, raw: bytes) -> _Stream:
        """The inverse of `dump`; ValueError (or TypeError, KeyError) when damaged."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        history, time = data["history"], data.get("time", "")
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise ValueError("history is not a list of commands")
        if not isinstance(time, str):
            raise ValueError("time is not a string")
        pending = _Run.load(data["pending"]) if data.get("pending") is not None else None
        return cls(history[-HISTORY:], pending, time)


def _stream_key(run: _Run, session_id: object) -> bytes | None:
    """Where the run's stream is stored: its notebook's, else its session's (None: it
    has neither, so no other run can replace it)."""
    if run.notebook_path:
        return ordered.encode(_NOTEBOOK, run.notebook_path)
    if isinstance(session_id, str) and session_id:
        return ordered.encode(_SESSION, session_id)
    return None


def example_id(query: str, cell: str) -> str:
    """Examples with the same query and the same normalized cell share this id."""
    digest = hashlib.sha256(f"{query}\0{normalize(cell)}".encode())
    return digest.hexdigest()[:32]


def same_cell(earlier: _Run, later: _Run) -> bool:
    """Whether two runs are of one cell: the same id, or the same name in one notebook."""
    if earlier.known_id and earlier.known_id == later.known_id:
        return True
    return bool(
        earlier.notebook_path
        and earlier.notebook_path == later.notebook_path
        and earlier.known_name
        and earlier.known_name == later.known_name
    )


def _gap(earlier: _Run, later: _Run) -> float | None:
    """Seconds from one run to the next; None when unknown or negative."""
    gap = seconds_between(earlier.time, later.time)
    return None if gap is None or gap < 0 else gap


def replaces(earlier: _Run, later: _Run) -> bool:
    """Whether `later` is `earlier` run again in edited form (so `earlier` is not learned)."""
    if normalize(earlier.source) == normalize(later.source):
        return False  # a plain re-run: both are the same example
    gap = _gap(earlier, later)
    if gap is None:
        return False
    return same_cell(earlier, later) and gap <= RERUN_WINDOW


def repeats(earlier: _Run, later: _Run) -> bool:
    """Whether `later` is `earlier` run again unchanged, soon enough that an edit after
    it would replace both."""
    if not same_cell(earlier, later) or normalize(earlier.source) != normalize(later.source):
        return False
    gap = _gap(earlier, later)
    return gap is not None and gap <= RERUN_WINDOW


def _read_executed(line: bytes) -> Event:
    """A canonical `cell.executed` line decoded without its outputs."""
    event = decode_head(line, b'"stdout":', _EXECUTED_FIELDS)
    # Past the outputs: in JSON these bytes cannot occur inside a string value.
    event.setdefault("timed_out", b'"timed_out":true' in line)
    event.setdefault("cancelled", b'"cancelled":true' in line)
    return event


class _Notebooks:
    """Notebook files read during a pass, as context cells (None: unreadable)."""

    def __init__(self) -> None:
        self._cells: dict[str, tuple[int, list[ContextCell] | None]] = {}

    def cells(self, path: str) -> list[ContextCell] | None:
        from ..notebook import NotebookError, load

        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return None
        cached = self._cells.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            nb = load(path)
        except (NotebookError, OSError, UnicodeDecodeError):
            cells = None
        else:
            cells = [
                ContextCell(
                    kind=c.kind,
                    source=c.source,
                    language=c.language,
                    id=c.attributes.get("id"),
                    name=c.name if c.kind == "code" else "",
                )
                for c in nb.cells
            ]
        self._cells[path] = (mtime, cells)
        return cells

    def place(self, run: _Run) -> tuple[list[ContextCell], int] | None:
        """`run`'s notebook cells and the cell's index, if the notebook holds the cell."""
        cells = self.cells(run.notebook_path) if run.notebook_path else None
        if cells is None:
            return None
        code = [i for i, c in enumerate(cells) if c.kind == "code"]
        at = next((i for i in code if run.known_id and cells[i].id == run.known_id), None)
        if at is None and run.known_name:
            at = next((i for i in code if cells[i].name == run.known_name), None)
        return None if at is None else (cells, at)


class _Pass:
    """One pass: streams touched, examples made, counts."""

    def __init__(self, kv: KV, consumer: LogConsumer) -> None:
        self.kv = kv
        self.consumer = consumer  # held (locked) for the whole pass
        self.counts = LearnCounts()
        self.streams: dict[bytes, _Stream] = {}
        self.dirty: set[bytes] = set()
        self.examples: list[Example] = []
        self.notebooks = _Notebooks()

    def _load(self, key: bytes, raw: bytes) -> _Stream:
        try:
            return _Stream.load(raw)
        except (ValueError, TypeError, KeyError):
            # Rebuilt from the runs to come; the damaged value is overwritten or deleted.
            log.warning("dropping a damaged learner state %r: %.80r", key, raw)
            self.counts.damaged += 1
            self.dirty.add(key)
            return _Stream(ended=True)

    def stored(self, key: bytes) -> _Stream | None:
        """The stream under `key`, in memory or in the store, marked to be written back
        (None: there is none)."""
        stream = self.streams.get(key)
        if stream is None:
            raw = self.kv.get(key)
            if raw is None:
                return None
            stream = self.streams[key] = self._load(key, raw)
        self.dirty.add(key)
        return stream

    def stream(self, key: bytes) -> _Stream:
        """The stream under `key`, made if there is none, marked to be written back."""
        stream = self.stored(key)
        if stream is None:
            stream = self.streams[key] = _Stream()
            self.dirty.add(key)
        return stream

    def executed(self, event: Event) -> None:
        run = _Run.of(event)
        if not run.source.strip():
            return
        self.counts.executions += 1
        key = _stream_key(run, event.get("session_id"))
        if key is None:
            self.finish(run, _Stream())  # in no stream: nothing can replace it
            return
        stream = self.stream(key)
        stream.ended = False
        previous = stream.pending
        if previous is not None:
            if replaces(previous, run):
                self.counts.replaced += 1
            elif previous.ok and repeats(previous, run):
                self.counts.duplicates += 1  # the later run stands for both
            else:
                self.finish(previous, stream)
        stream.pending, stream.time = run, run.time or stream.time

    def ended(self, event: Event) -> None:
        """A session ended: its own stream's pending run is settled (a notebook's is not:
        the notebook's next run may come from another session)."""
        session_id = event.get("session_id")
        if not isinstance(session_id, str) or not session_id:
            return
        stream = self.stored(ordered.encode(_SESSION, session_id))
        if stream is None:
            return
        if stream.pending is not None:
            self.finish(stream.pending, stream)
            stream.pending = None
        stream.ended = True

    def finish(self, run: _Run, stream: _Stream) -> None:
        """The run was not replaced: learn it if it succeeded; it is now history."""
        if not run.ok:
            self.counts.failed += 1
        else:
            cell = run.source if run.source.endswith("\n") else run.source + "\n"
            place = self.notebooks.place(run)
            if place is None:  # the commands run before it in the stream are its place
                context = [ContextCell("code", source) for source in stream.history]
                place = ([*context, ContextCell("code", cell, run.language)], len(context))
            cells, at = place
            example = example_at(
                cells, at, id="", source=f"{run.notebook_path or ''}#{run.known_id}", cell=cell
            )
            if not example.query.strip():
                self.counts.no_context += 1
            else:
                self.examples.append(
                    replace(example, id=example_id(example.query, cell), language=run.language)
                )
        stream.history = [*stream.history, run.source][-HISTORY:]

    def expire(self, now: datetime) -> None:
        """Finish pending runs older than RERUN_WINDOW; forget streams silent too long."""
        for kind in (_NOTEBOOK, _SESSION):
            start = ordered.encode(kind)
            for key, raw in self.kv.scan(start, start + ordered.encode(ordered.Inf)):
                if key not in self.streams:
                    self.streams[key] = self._load(key, raw)
        for key, stream in self.streams.items():
            idle = _age(stream.time, now)
            if stream.pending is not None and (idle is None or idle > RERUN_WINDOW):
                self.finish(stream.pending, stream)
                stream.pending = None
                self.dirty.add(key)
            if idle is None or idle > STALE_AFTER:
                stream.ended = True
                self.dirty.add(key)

    def commit(self, examples: ExampleIndex, offset: Offset | None) -> None:
        """Store the examples, then the streams and the offset in one fenced batch (a
        crash in between repeats examples, which are then known duplicates)."""
        made, self.examples = self.examples, []
        added = examples.add(made)
        self.counts.learned += added
        self.counts.duplicates += len(made) - added
        batch = self.kv.batch()
        for key in self.dirty:
            stream = self.streams[key]
            if stream.ended:
                batch.delete(key)
                del self.streams[key]
            else:
                batch.set(key, stream.dump())
        self.dirty.clear()
        self.consumer.commit(batch, offset)


def _age(time: str, now: datetime) -> float | None:
    try:
        return (now - datetime.fromisoformat(time)).total_seconds()
    except (TypeError, ValueError):
        return None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Learner:
    """Turns the executions in the learning log in `log_dir` into examples, incrementally.

    `clock` tells the time against which pending runs expire (the wall clock by
    default). Passes of several processes on one store take turns (lock `copilot.learn`).
    """

    def __init__(
        self,
        kv: KV,
        log_dir: Path | str,
        examples: ExampleIndex,
        *,
        clock: Callable[[], datetime] = _utcnow,
        commit_every: int = COMMIT_EVERY,
    ) -> None:
        self.kv = kv
        self.log_dir = Path(log_dir)
        self.examples = examples
        self.clock = clock
        self.commit_every = max(1, commit_every)

    def offset(self) -> str | None:
        """Where the next pass starts (None: at the beginning of the log). Raises
        AnalyzeError when the stored offset is damaged (a pass then starts over)."""
        try:
            found = LogConsumer(self.kv, LOCK).offset()
        except LearningLogError as exc:
            raise AnalyzeError(f"{exc}; delete the copilot's state to start over") from None
        return None if found is None else str(found)

    def run(self, max_events: int | None = None) -> LearnCounts:
        """Learn from the events after the stored offset (at most `max_events` of them)."""
        consumer = LogConsumer(self.kv, LOCK)
        with consumer.locked():
            state = _Pass(self.kv, consumer)
            scan = LogReader(
                self.log_dir,
                self._start(state),
                _TYPES,
                limit=max_events,
                readers={"cell.executed": _read_executed},
            )
            handlers = {"cell.executed": state.executed, "session.ended": state.ended}
            next_commit = self.commit_every
            for event in scan.events():
                try:
                    handlers[event["type"]](event)
                except (AttributeError, TypeError, ValueError):
                    state.counts.malformed += 1
                    log.debug("skipping a malformed %s event", event.get("type"))
                if scan.counts.events >= next_commit or len(state.examples) >= EXAMPLES_PER_COMMIT:
                    state.commit(self.examples, scan.offset)
                    next_commit = scan.counts.events + self.commit_every
            state.expire(self.clock())
            state.commit(self.examples, scan.offset)
        counts = state.counts
        counts.events, counts.skipped, counts.offset = (
            scan.counts.events,
            scan.counts.skipped,
            _str(scan),
        )
        counts.pending = sum(1 for s in state.streams.values() if s.pending is not None)
        return counts

    def _start(self, state: _Pass) -> Offset | None:
        """The stored offset; when it is damaged, the streams are dropped too and the
        pass starts over (examples already learned come back as duplicates)."""
        try:
            return state.consumer.offset()
        except LearningLogError as exc:
            log.warning("%s: learning from the start of the log again", exc)
            state.counts.damaged += 1
            batch = self.kv.batch()
            for kind in (_NOTEBOOK, _SESSION):
                start = ordered.encode(kind)
                batch.delete_range(start, start + ordered.encode(ordered.Inf))
            state.consumer.restart(batch)
            return None


def _str(scan: LogReader) -> str | None:
    return None if scan.offset is None else str(scan.offset)


def learn_once(
    kv: KV,
    log_dir: Path | str,
    examples: ExampleIndex,
    *,
    clock: Callable[[], datetime] = _utcnow,
) -> tuple[AnalyzeCounts, LearnCounts]:
    """One analyzer pass and one learner pass (`clock`: see `Learner`)."""
    return Analyzer(kv, log_dir).run(), Learner(kv, log_dir, examples, clock=clock).run()


def run_learning_loop(
    kv: KV,
    log_dir: Path | str,
    embedder: Embedder,
    stop: threading.Event,
    interval: float = 2.0,
    *,
    on_pass: Callable[[AnalyzeCounts, LearnCounts], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Analyze and learn every `interval` seconds until `stop` is set: for a server's
    background thread. A failed pass is logged (once per distinct error in a row) and
    retried; `on_pass` and `on_error` are told of each pass."""
    from ._examples import ExampleIndex

    index = ExampleIndex(kv, embedder)
    last_error = ""
    while not stop.is_set():
        try:
            counts = learn_once(kv, log_dir, index)
        except Exception as exc:  # the loop outlives any one pass
            message = f"{type(exc).__name__}: {exc}"
            if message != last_error:
                log.exception("learning pass failed (retrying every %gs)", interval)
            last_error = message
            if on_error is not None:
                on_error(exc)
        else:
            last_error = ""
            if on_pass is not None:
                on_pass(*counts)
        stop.wait(interval)
