"""The learner: successful executions in the learning log → examples for retrieval.

Each `cell.executed` that exited 0 (not timed out, not cancelled) becomes an `Example`
keyed by `query_text` of what came before the cell: the notebook's cells when the
notebook file is readable and holds the cell, else the commands run before it in the
same session. Not learned: failed runs; a run that the same session replaced right
after with an edited form of it (the same cell again, or a similar command, within a
short time: only the final form is learned, so a wrong command that happened to exit 0
is not, see Foyle #298); the same cell for the same query twice.

A run waits ("pending") until the session's next run, the session's end, or
`RERUN_WINDOW` seconds, since only then is it known whether it was replaced. The
learner is incremental like the analyzer: its own offset and the sessions' state live
in the store, written in one fenced batch per commit.

Layout (keys encoded with `ordered`):
  ("copilot.learn", "offset")            → the log offset after the last event applied
  ("copilot.learn.session", session_id)  → JSON: recent commands and the pending run
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store import KV, Fence, ordered
from ._analyze import (
    AnalyzeCounts,
    Analyzer,
    Event,
    LogScan,
    decode_head,
    load_offset,
    normalize,
    seconds_between,
    token_distance,
    tokens,
)
from ._query import query_text
from ._types import ContextCell, Example

if TYPE_CHECKING:
    from ..index import Embedder
    from ._examples import ExampleIndex

log = logging.getLogger(__name__)

LOCK = "copilot.learn"
RERUN_WINDOW = 600.0  # seconds: the same cell run again within this replaces the earlier run
SIMILAR_WINDOW = 120.0  # seconds: a similar command in another cell within this replaces it
SIMILAR_TOKENS = 3  # at most this many tokens changed (and at most half of them) is similar
HISTORY = 4  # commands remembered per session, for the query of the next one
STALE_AFTER = 86_400.0  # seconds: a session silent this long is forgotten
COMMIT_EVERY = 100_000  # events per batch
EXAMPLES_PER_COMMIT = 512  # examples embedded and stored per batch

_OFFSET_KEY = ordered.encode("copilot.learn", "offset")
_SESSION = ordered.encode("copilot.learn.session")
_SESSION_END = _SESSION + ordered.encode(ordered.Inf)
_TYPES = ("cell.executed", "session.ended")
_EXECUTED_FIELDS = ("type", "time", "known_id", "source", "exit_code")


@dataclass
class LearnCounts:
    """What a pass did with the executions it read."""

    events: int = 0  # event lines read, of every type
    executions: int = 0
    learned: int = 0  # new examples stored
    failed: int = 0  # not learned: non-zero exit code, timed out or cancelled
    replaced: int = 0  # not learned: run again in edited form right after
    duplicates: int = 0  # not learned: the same cell for the same query is known
    no_context: int = 0  # not learned: nothing before it to find it by
    pending: int = 0  # runs that may still be replaced (sessions still going)
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
        exit_code = event.get("exit_code")
        return cls(
            known_id=str(event.get("known_id") or ""),
            source=str(event.get("source") or ""),
            language=str(event.get("language") or "sh"),
            time=str(event.get("time") or ""),
            ok=exit_code == 0 and not event.get("timed_out") and not event.get("cancelled"),
            notebook_path=event.get("notebook_path") or None,
            known_name=str(event.get("known_name") or ""),
        )

    def dump(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Session:
    history: list[str] = field(default_factory=list)  # recent commands, oldest first
    pending: _Run | None = None
    time: str = ""  # of the session's latest run
    ended: bool = False

    def dump(self) -> bytes:
        pending = self.pending.dump() if self.pending is not None else None
        data = {"history": self.history, "pending": pending, "time": self.time}
        return json.dumps(data, ensure_ascii=False).encode()

    @classmethod
    def load(cls, raw: bytes) -> _Session:
        try:
            data = json.loads(raw)
            pending = _Run(**data["pending"]) if data.get("pending") else None
            return cls([str(s) for s in data["history"]], pending, str(data.get("time", "")))
        except (ValueError, TypeError, KeyError):
            log.warning("dropping a damaged learner session state: %.80r", raw)
            return cls()


def example_id(query: str, cell: str) -> str:
    """Examples with the same query and the same normalized cell share this id."""
    digest = hashlib.sha256(f"{query}\0{normalize(cell)}".encode())
    return digest.hexdigest()[:32]


def replaces(earlier: _Run, later: _Run) -> bool:
    """Whether `later` is `earlier` run again in edited form (so `earlier` is not learned)."""
    if normalize(earlier.source) == normalize(later.source):
        return False  # a plain re-run: both are the same example
    gap = seconds_between(earlier.time, later.time)
    if gap is None or gap < 0:
        return False
    if earlier.known_id and earlier.known_id == later.known_id:
        return gap <= RERUN_WINDOW
    if gap > SIMILAR_WINDOW:
        return False
    a, b = tokens(earlier.source), tokens(later.source)
    changed = token_distance(a, b)
    return changed <= SIMILAR_TOKENS and 2 * changed <= max(len(a), len(b))


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

    def query(self, run: _Run) -> str | None:
        """The query for `run` from its notebook, if the notebook holds the cell."""
        cells = self.cells(run.notebook_path) if run.notebook_path else None
        if cells is None:
            return None
        code = [i for i, c in enumerate(cells) if c.kind == "code"]
        at = next((i for i in code if run.known_id and cells[i].id == run.known_id), None)
        if at is None and run.known_name:
            at = next((i for i in code if cells[i].name == run.known_name), None)
        return None if at is None else query_text(cells, at)


class _Pass:
    """One pass: sessions touched, examples made, counts."""

    def __init__(self, kv: KV, fence: Fence) -> None:
        self.kv = kv
        self.fence = fence
        self.counts = LearnCounts()
        self.sessions: dict[str, _Session] = {}
        self.dirty: set[str] = set()
        self.examples: list[Example] = []
        self.notebooks = _Notebooks()

    def session(self, session_id: str) -> _Session:
        session = self.sessions.get(session_id)
        if session is None:
            raw = self.kv.get(_SESSION + ordered.encode(session_id))
            session = _Session.load(raw) if raw is not None else _Session()
            self.sessions[session_id] = session
        self.dirty.add(session_id)
        return session

    def executed(self, event: Event) -> None:
        run = _Run.of(event)
        if not run.source.strip():
            return
        self.counts.executions += 1
        session_id = event.get("session_id")
        if not isinstance(session_id, str) or not session_id:
            self.finish(run, _Session())  # no session: nothing can replace it
            return
        session = self.session(session_id)
        session.ended = False
        previous = session.pending
        if previous is not None:
            if replaces(previous, run):
                self.counts.replaced += 1
            else:
                self.finish(previous, session)
        session.pending, session.time = run, run.time or session.time

    def ended(self, event: Event) -> None:
        session_id = event.get("session_id")
        if not isinstance(session_id, str) or not session_id:
            return
        session = self.session(session_id)
        if session.pending is not None:
            self.finish(session.pending, session)
            session.pending = None
        session.ended = True

    def finish(self, run: _Run, session: _Session) -> None:
        """The run was not replaced: learn it if it succeeded; it is now history."""
        if not run.ok:
            self.counts.failed += 1
        else:
            query = self.notebooks.query(run)
            if query is None:
                context = [ContextCell("code", source) for source in session.history]
                query = query_text(context, len(context))
            if not query.strip():
                self.counts.no_context += 1
            else:
                cell = run.source if run.source.endswith("\n") else run.source + "\n"
                origin = f"{run.notebook_path or ''}#{run.known_id}"
                self.examples.append(
                    Example(example_id(query, cell), query, cell, run.language, origin)
                )
        session.history = [*session.history, run.source][-HISTORY:]

    def expire(self, now: datetime) -> None:
        """Finish pending runs older than RERUN_WINDOW; forget sessions silent too long."""
        for key, raw in self.kv.scan(_SESSION, _SESSION_END):
            session_id = ordered.decode(key, str, str)[1]
            if session_id not in self.sessions:
                self.sessions[session_id] = _Session.load(raw)
        for session_id, session in self.sessions.items():
            idle = _age(session.time, now)
            if session.pending is not None and (idle is None or idle > RERUN_WINDOW):
                self.finish(session.pending, session)
                session.pending = None
                self.dirty.add(session_id)
            if idle is None or idle > STALE_AFTER:
                session.ended = True
                self.dirty.add(session_id)

    def commit(self, examples: ExampleIndex, offset: str | None) -> None:
        """Store the examples, then the sessions and the offset in one fenced batch (a
        crash in between repeats examples, which are then known duplicates)."""
        made, self.examples = self.examples, []
        added = examples.add(made)
        self.counts.learned += added
        self.counts.duplicates += len(made) - added
        batch = self.kv.batch()
        for session_id in self.dirty:
            session = self.sessions[session_id]
            key = _SESSION + ordered.encode(session_id)
            if session.ended:
                batch.delete(key)
                del self.sessions[session_id]
            else:
                batch.set(key, session.dump())
        self.dirty.clear()
        if offset is not None:
            batch.set(_OFFSET_KEY, offset.encode())
        batch.apply(self.fence)


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
        found = load_offset(self.kv, _OFFSET_KEY)
        return None if found is None else str(found)

    def run(self, max_events: int | None = None) -> LearnCounts:
        """Learn from the events after the stored offset (at most `max_events` of them)."""
        token = self.kv.lock(LOCK)
        try:
            state = _Pass(self.kv, (LOCK, token))
            scan = LogScan(
                self.log_dir,
                load_offset(self.kv, _OFFSET_KEY),
                _TYPES,
                limit=max_events,
                readers={"cell.executed": _read_executed},
            )
            handlers = {"cell.executed": state.executed, "session.ended": state.ended}
            next_commit = self.commit_every
            for event in scan:
                try:
                    handlers[event["type"]](event)
                except (AttributeError, TypeError, ValueError):
                    log.debug("skipping a malformed %s event", event.get("type"))
                if scan.lines >= next_commit or len(state.examples) >= EXAMPLES_PER_COMMIT:
                    state.commit(self.examples, _str(scan))
                    next_commit = scan.lines + self.commit_every
            state.expire(self.clock())
            state.commit(self.examples, _str(scan))
        finally:
            self.kv.unlock(LOCK)
        counts = state.counts
        counts.events, counts.offset = scan.lines, _str(scan)
        counts.pending = sum(1 for s in state.sessions.values() if s.pending is not None)
        return counts


def _str(scan: LogScan) -> str | None:
    return None if scan.offset is None else str(scan.offset)


def learn_once(
    kv: KV, log_dir: Path | str, examples: ExampleIndex
) -> tuple[AnalyzeCounts, LearnCounts]:
    """One analyzer pass and one learner pass."""
    return Analyzer(kv, log_dir).run(), Learner(kv, log_dir, examples).run()


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
