"""The recorder's background writer: one thread that takes what the recorder queues
(runs, steps, attempts), serializes them (redaction and caps happen here, off the model
call's path), writes them in batches (group commit), and runs retention now and then.

A storage failure never breaks a model call: it is logged, kept, and reported by the
next `flush()`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from .._errors import LLMError
from ._serialize import Serializer
from ._store import RecordStore, Write

log = logging.getLogger("cairn.llm.recorder")

_BATCH = 1000  # queued items per write, at most


class RecorderError(LLMError):
    """Recorded data could not be written or read."""


@dataclass(frozen=True)
class Retention:
    max_age_days: float | None = 30.0
    max_size_mb: float | None = 256.0
    every_runs: int = 100  # prune after this many finished runs (and when opened)


class BackgroundWriter:
    """Writes queued records into `store` from a thread of its own."""

    def __init__(
        self, store: RecordStore, serializer: Serializer, retention: Retention, *, close_store: bool
    ) -> None:
        self.store = store
        self.serializer = serializer
        self.retention = retention
        self._close_store = close_store
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="cairn-recorder", daemon=True)
        self._thread.start()
        self.housekeeping()

    def put(self, kind: str, payload: Any) -> None:
        """Queue a record: "run" (a Run), "step" (step, request, response) or "attempt"
        (attempt, body, content type)."""
        self._queue.put((kind, payload))

    def housekeeping(self) -> None:
        """Sweep dead runs and apply retention, in the writer thread, soon."""
        self._queue.put(("housekeeping", None))

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until everything queued so far is in the store; RecorderError if writing
        failed since the last flush."""
        if self._thread.is_alive():
            done = threading.Event()
            self._queue.put(("flush", done))
            if not done.wait(timeout):
                raise RecorderError(f"debug recorder: writes did not finish within {timeout}s")
        error, self._error = self._error, None
        if error is not None:
            raise RecorderError(f"debug recorder: cannot write debug records: {error}") from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            self._queue.put(("stop", None))
            self._thread.join(timeout=30)
            if self._close_store:
                self.store.kv.close()

    def _run(self) -> None:
        serialize = self.serializer
        while True:
            items = [self._queue.get()]
            with contextlib.suppress(queue.Empty):
                while len(items) < _BATCH:
                    items.append(self._queue.get_nowait())
            write = Write()
            waiters: list[threading.Event] = []
            stop = housekeeping = False
            for kind, payload in items:
                if kind == "run":
                    write.runs.append(serialize.run(payload))
                elif kind == "step":
                    write.steps.append(serialize.step(*payload))
                elif kind == "attempt":
                    write.attempts.append(serialize.attempt(*payload))
                elif kind == "flush":
                    waiters.append(payload)
                elif kind == "housekeeping":
                    housekeeping = True
                elif kind == "stop":
                    stop = True
            try:
                self.store.write(write)
                if housekeeping:
                    self._housekeeping()
            except Exception as exc:  # kept for flush(): a model call never fails for it
                log.warning("debug recorder: cannot write debug records: %s", exc)
                self._error = exc
            for waiter in waiters:
                waiter.set()
            if stop:
                return

    def _housekeeping(self) -> None:
        self.store.sweep()
        r = self.retention
        self.store.prune(
            max_age_s=None if r.max_age_days is None else r.max_age_days * 86400,
            max_bytes=None if r.max_size_mb is None else int(r.max_size_mb * 1024 * 1024),
        )
