"""The process's learning log and `emit`, the one way events get into it.

`emit` redacts the event, encodes it as one JSON line and hands it to a flusher thread;
it returns once the line is on disk. Group commit: while the flusher writes and
fdatasyncs one batch, the lines of concurrent emitters gather in the next batch, which
then goes out with one write() and one fdatasync. A lone emitter waits for exactly one
fdatasync; many emitters share them.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ..errors import CairnError
from ..privacy import Redactor
from ..privacy import add_secret_values as _add_shared_secrets
from ._events import Event
from ._writer import SegmentWriter


class LearningLogError(CairnError):
    """The learning log cannot be written (unwritable or full config dir, …)."""


def _cannot_write(directory: Path, exc: BaseException) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return (
        f"cannot write the learning log in {directory}: {reason}; "
        "fix permissions/free space or pass --no-learning-logs"
    )


@dataclass
class _Batch:
    events: list[Event] = field(default_factory=list)
    unwaited: bool = False  # holds events whose emitters did not wait: flush() reports
    done: bool = False
    error: str | None = None


@dataclass(frozen=True)
class LogStats:
    """Counters of one LearningLog since it opened."""

    events: int  # acknowledged
    batches: int  # write() calls
    fsyncs: int  # data fdatasyncs: fewer than `events` when group commit batched them
    bytes_written: int
    files_created: int
    current_file: Path


class LearningLog:
    """Durable JSON-lines writer under `directory` (`<config dir>/logs`).

    Raises LearningLogError when the directory cannot be written. Thread-safe.
    """

    def __init__(
        self,
        directory: Path,
        *,
        fsync: bool = True,
        max_file_bytes: int = 64 << 20,
        secret_values: Iterable[str] = (),
    ) -> None:
        self.directory = Path(directory)
        self.redactor = Redactor(secret_values)
        try:
            self._segments = SegmentWriter(
                self.directory, max_file_bytes=max_file_bytes, fsync=fsync
            )
        except OSError as exc:
            raise LearningLogError(_cannot_write(self.directory, exc)) from None
        self._mu = threading.Lock()
        self._work = threading.Condition(self._mu)  # the flusher waits here for lines
        self._flushed = threading.Condition(self._mu)  # emitters wait here for their batch
        self._filling = _Batch()
        self._last: _Batch | None = None  # the batch being or last written
        self._failed: str | None = None  # a write error no waiting emitter saw: flush() raises it
        self._closed = False
        self._pid = os.getpid()
        self._events = 0
        self._batches = 0
        self._flusher = threading.Thread(
            target=self._run, name="cairn-learnlog-flusher", daemon=True
        )
        self._flusher.start()

    def add_secret_values(self, values: Iterable[str]) -> None:
        """Redact these literal values (e.g. env values a session set) from now on."""
        self.redactor.add_secret_values(values)

    def encode(self, event: Event) -> bytes:
        """The event as its redacted JSON line (what `emit` writes)."""
        data = self.redactor.redact_data(event.to_dict())
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        # Lone surrogates (undecodable output bytes) become \udcXX escapes: valid JSON.
        return text.encode("utf-8", "backslashreplace") + b"\n"

    def emit(self, event: Event, *, wait: bool = True) -> None:
        """Redact, append and make durable; returns once the event is on disk.

        With `wait=False` it returns at once and the event is written with the next batch
        (within milliseconds); `flush()` then acknowledges everything emitted so far. The
        flusher thread redacts and encodes, so that work overlaps whatever the caller
        does next (a cell starting, for `cairn run`).

        Raises LearningLogError when it could not be written (it is then not acknowledged).
        """
        if os.getpid() != self._pid:
            # The flusher thread did not survive fork(), and flock is shared with the parent.
            raise LearningLogError(
                f"the learning log in {self.directory} was opened by another process; "
                "configure it again after fork()"
            )
        with self._mu:
            if self._closed:
                raise LearningLogError(f"the learning log in {self.directory} is closed")
            batch = self._filling
            batch.events.append(event)
            if len(batch.events) == 1:
                self._work.notify()
            if not wait:
                batch.unwaited = True
                return
            while not batch.done:
                self._flushed.wait()
        if batch.error is not None:
            raise LearningLogError(batch.error)

    def flush(self) -> None:
        """Wait until every event emitted so far is on disk (see `emit(wait=False)`).

        Raises LearningLogError if any of them could not be written.
        """
        with self._mu:
            batch: _Batch | None = self._filling
            if self._filling.events:
                self._work.notify()
            else:
                batch = self._last
            while batch is not None and not batch.done:
                self._flushed.wait()
            failed, self._failed = self._failed, None
        if failed is not None:
            raise LearningLogError(failed)

    def _run(self) -> None:
        while True:
            with self._mu:
                while not self._filling.events and not self._closed:
                    self._work.wait()
                batch = self._filling
                if not batch.events:  # closed and drained
                    return
                self._filling = _Batch()
                self._last = batch
            try:
                self._segments.write(b"".join(self.encode(e) for e in batch.events))
            except Exception as exc:  # never leave emitters waiting
                batch.error = _cannot_write(self.directory, exc)
            with self._mu:
                batch.done = True
                self._batches += 1
                if batch.error is None:
                    self._events += len(batch.events)
                elif batch.unwaited:
                    self._failed = self._failed or batch.error
                self._flushed.notify_all()

    def stats(self) -> LogStats:
        with self._mu:
            return LogStats(
                events=self._events,
                batches=self._batches,
                fsyncs=self._segments.fsyncs,
                bytes_written=self._segments.bytes_written,
                files_created=self._segments.files_created,
                current_file=self._segments.current_file,
            )

    def close(self) -> None:
        """Flush what is queued, stop the flusher and close the files. Idempotent."""
        with self._mu:
            if self._closed:
                return
            self._closed = True
            self._work.notify()
        self._flusher.join()
        self._segments.close()

    def __enter__(self) -> LearningLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_current: LearningLog | None = None
_mu = threading.Lock()


def configure(config_dir: Path | None, *, enabled: bool = True) -> LearningLog | None:
    """Open the process's learning log under `<config_dir>/logs` (or turn it off).

    Raises LearningLogError when it cannot be written.
    """
    global _current
    with _mu:
        if _current is not None:
            _current.close()
            _current = None
        if enabled and config_dir:
            _current = LearningLog(Path(config_dir) / "logs")
        return _current


def current() -> LearningLog | None:
    return _current


def add_secret_values(values: Iterable[str]) -> None:
    """Redact these literal values from every event this process emits from now on (and
    from everything else it persists or sends to a model: see `cairn.privacy`)."""
    _add_shared_secrets(values)


def emit(event: Event, *, wait: bool = True) -> None:
    """Record a learning event. Returns once it is durable; a no-op when logging is off.

    `wait=False` queues it instead (written within milliseconds); `flush()` then
    acknowledges everything emitted so far. Raises LearningLogError when the event could
    not be written.
    """
    log = _current
    if log is not None:
        log.emit(event, wait=wait)


def flush() -> None:
    """Wait until every event emitted so far is on disk; a no-op when logging is off."""
    log = _current
    if log is not None:
        log.flush()
