"""A durable, fenced consumer of the learning log: a named store lock and a stored log
offset, with the consumer's results and its new offset committed in one fenced batch.

Held under `locked()`, two processes running the same consumer take turns; a consumer
that lost its lock (its lease taken over) cannot write, and one killed mid-pass leaves
only whole batches behind (results and offset together): it resumes after the last one,
losing nothing and applying nothing twice. The copilot's analyzer, learner and output
history follow the log through it; timed collections have `store.timed.Consumer`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..store import KV, Batch, Fence, LockError, ordered
from ._log import LearningLogError
from ._reader import Offset


class LogConsumer:
    """The consumer `name`: its lock is `name` and its offset is stored at
    `ordered.encode(name, "offset")` (the copilot's layout since its first release)."""

    def __init__(self, kv: KV, name: str) -> None:
        self.kv = kv
        self.name = name
        self.offset_key = ordered.encode(name, "offset")
        self._fence: Fence | None = None

    @contextlib.contextmanager
    def locked(self, timeout: float | None = None) -> Iterator[Fence]:
        """Hold the consumer's lock (LockTimeoutError past `timeout` seconds); yields the
        fence its commits carry."""
        token = self.kv.lock(self.name, timeout=timeout)
        self._fence = (self.name, token)
        try:
            yield self._fence
        finally:
            self._fence = None
            with contextlib.suppress(LockError):
                self.kv.unlock(self.name)

    def offset(self) -> Offset | None:
        """Where the next pass starts (None: the log's start). LearningLogError when the
        stored offset is damaged."""
        raw = self.kv.get(self.offset_key)
        if raw is None:
            return None
        try:
            return Offset.parse(raw.decode())
        except (UnicodeDecodeError, ValueError):
            raise LearningLogError(
                f"the stored learning-log offset of {self.name!r} ({raw[:80]!r}) is damaged"
            ) from None

    def commit(self, batch: Batch, offset: Offset | None) -> None:
        """Apply `batch` (the results) with the new offset (None: leave it), atomically,
        fenced by the lock (LockLostError if it was taken over)."""
        if self._fence is None:
            raise LockError(f"log consumer {self.name!r} commits only under locked()")
        if offset is not None:
            batch.set(self.offset_key, str(offset).encode())
        batch.apply(self._fence)

    def restart(self, batch: Batch | None = None) -> None:
        """Forget the offset (with `batch`'s writes, atomically, when given)."""
        batch = batch if batch is not None else self.kv.batch()
        batch.delete(self.offset_key)
        self.commit(batch, None)
