"""Timed collections: (kind, key) → value, plus an index by modification sequence, and
watchers — named, durable cursors over that index for incremental processing.

Unlike Gaby's `storage/timed`, which orders entries by a nanosecond wall clock (and
loses entries when two writers' clocks disagree), the order here is a counter kept in
the store and bumped in the same batch as the entry, while the writer holds the
collection's lock. Entries therefore become visible in sequence order, and a watcher
that has seen sequence N has seen everything before N.

Layout (all keys encoded with `ordered`):
  ("timed", kind, key)             → 8-byte seq + value
  ("timed.seq", kind, seq)         → key
  ("timed.counter", kind)          → 8-byte last seq
  ("timed.watch", kind, name)      → 8-byte cursor
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from . import ordered
from ._errors import LockError
from ._kv import KV, Fence

_SEQ = 8


def _u64(n: int) -> bytes:
    return n.to_bytes(_SEQ, "big")


def _from_u64(b: bytes | None) -> int:
    return 0 if b is None else int.from_bytes(b[:_SEQ], "big")


@dataclass(frozen=True)
class Entry:
    """One entry of a timed collection, as of its latest modification."""

    kind: str
    key: bytes
    value: bytes
    seq: int


class Collection:
    """The entries of one kind. Writers serialize on a lock per kind."""

    def __init__(self, kv: KV, kind: str) -> None:
        self.kv = kv
        self.kind = kind
        self._lock_name = f"timed:{kind}"

    def _entry_key(self, key: bytes) -> bytes:
        return ordered.encode("timed", self.kind, key)

    def _seq_key(self, seq: int) -> bytes:
        return ordered.encode("timed.seq", self.kind, seq)

    def _counter_key(self) -> bytes:
        return ordered.encode("timed.counter", self.kind)

    def get(self, key: bytes) -> Entry | None:
        raw = self.kv.get(self._entry_key(key))
        if raw is None:
            return None
        return Entry(self.kind, key, raw[_SEQ:], _from_u64(raw))

    def set(self, key: bytes, value: bytes) -> int:
        """Store one entry; returns its sequence number."""
        return self.set_many([(key, value)])[-1]

    def set_many(self, items: Iterable[tuple[bytes, bytes]]) -> list[int]:
        """Store entries in one atomic batch under one lock; returns their sequence numbers."""
        items = list(items)
        if not items:
            return []
        token = self.kv.lock(self._lock_name)
        try:
            seq = _from_u64(self.kv.get(self._counter_key()))
            batch = self.kv.batch()
            seqs = []
            pending: dict[bytes, int] = {}
            for key, value in items:
                key = bytes(key)
                previous = pending.get(key)
                if previous is None:
                    current = self.kv.get(self._entry_key(key))
                    previous = _from_u64(current) if current is not None else None
                if previous is not None:
                    batch.delete(self._seq_key(previous))
                seq += 1
                batch.set(self._entry_key(key), _u64(seq) + bytes(value))
                batch.set(self._seq_key(seq), key)
                pending[key] = seq
                seqs.append(seq)
            batch.set(self._counter_key(), _u64(seq))
            batch.apply(fence=(self._lock_name, token))
            return seqs
        finally:
            self.kv.unlock(self._lock_name)

    def delete(self, key: bytes) -> None:
        token = self.kv.lock(self._lock_name)
        try:
            current = self.kv.get(self._entry_key(key))
            if current is None:
                return
            batch = self.kv.batch()
            batch.delete(self._entry_key(key))
            batch.delete(self._seq_key(_from_u64(current)))
            batch.apply(fence=(self._lock_name, token))
        finally:
            self.kv.unlock(self._lock_name)

    def latest(self) -> int:
        """The sequence number of the latest modification (0 when empty)."""
        return _from_u64(self.kv.get(self._counter_key()))

    def scan(self) -> Iterator[Entry]:
        """All entries in key order."""
        start = ordered.encode("timed", self.kind)
        end = ordered.encode("timed", self.kind, ordered.Inf)
        for k, raw in self.kv.scan(start, end):
            _, _, key = ordered.decode(k, str, str, bytes)
            yield Entry(self.kind, key, raw[_SEQ:], _from_u64(raw))

    def after(self, seq: int) -> Iterator[Entry]:
        """Entries modified after `seq`, in modification order."""
        start = self._seq_key(seq + 1)
        end = ordered.encode("timed.seq", self.kind, ordered.Inf)
        for k, key in self.kv.scan(start, end):
            entry_seq = ordered.decode(k, str, str, int)[2]
            entry = self.get(key)
            # Overwritten since this index entry was read: its newer entry comes later.
            if entry is not None and entry.seq == entry_seq:
                yield entry


class Watcher:
    """A named, durable cursor over a collection's modifications.

    `recent()` yields entries modified after the cursor; `mark_old(seq)` moves the
    cursor forward (never back). Hold `locked()` while processing so two processes
    running the same watcher never handle the same entry at once; cursor writes are
    then fenced by that lock.
    """

    def __init__(self, kv: KV, kind: str, name: str) -> None:
        self.kv = kv
        self.collection = Collection(kv, kind)
        self.name = name
        self._cursor_key = ordered.encode("timed.watch", kind, name)
        self._lock_name = f"timed.watch:{kind}:{name}"
        self._fence: Fence | None = None

    @contextlib.contextmanager
    def locked(self, timeout: float | None = None) -> Iterator[Watcher]:
        token = self.kv.lock(self._lock_name, timeout=timeout)
        self._fence = (self._lock_name, token)
        try:
            yield self
        finally:
            self._fence = None
            with contextlib.suppress(LockError):
                self.kv.unlock(self._lock_name)

    def cursor(self) -> int:
        return _from_u64(self.kv.get(self._cursor_key))

    def recent(self) -> Iterator[Entry]:
        """Entries modified after the cursor, oldest first."""
        return self.collection.after(self.cursor())

    def mark_old(self, seq: int) -> None:
        """Record that everything up to `seq` was processed. Only moves forward."""
        if seq <= self.cursor():
            return
        batch = self.kv.batch()
        batch.set(self._cursor_key, _u64(seq))
        batch.apply(fence=self._fence)

    def restart(self) -> None:
        """Forget the cursor: the next `recent()` starts from the beginning."""
        batch = self.kv.batch()
        batch.delete(self._cursor_key)
        batch.apply(fence=self._fence)

    def latest(self) -> int:
        """The collection's latest sequence number."""
        return self.collection.latest()
