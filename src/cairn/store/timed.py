"""Timed collections: (kind, key) → value, plus an index by modification sequence, and
consumers — named, durable, fenced cursors over that index for incremental processing
(`Watcher` is the older cursor-only face of the same cursor).

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

A delete takes a sequence number too: its ("timed.seq", kind, seq) entry stays while
the entry itself is gone, a tombstone that consumers see as a `Change` with
`deleted=True`. Stores written before tombstones existed simply have no such entries
(their old deletions are not replayed); older code reading a newer store skips
tombstones, as it skipped index entries whose entry was gone. A tombstone whose key is
set again later is superseded (its entry has a newer seq) and is skipped like an
overwritten entry.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Self

from . import ordered
from ._errors import LockError
from ._kv import KV, Batch, Fence

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


@dataclass(frozen=True)
class Change:
    """One modification of a timed collection: the entry as set, or a deletion."""

    kind: str
    key: bytes
    seq: int
    entry: Entry | None  # None: the key was deleted

    @property
    def deleted(self) -> bool:
        return self.entry is None


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

    def set_many(
        self, items: Iterable[tuple[bytes, bytes]], *, batch: Batch | None = None
    ) -> list[int]:
        """Store entries in one atomic batch under one lock; returns their sequence numbers.

        With `batch`, the entries join the caller's other writes (a sync's cursor, say)
        and all of them are applied together, atomically: a process killed before the
        apply leaves none of them, after it all of them.
        """
        items = list(items)
        if not items and batch is None:
            return []
        token = self.kv.lock(self._lock_name)
        try:
            seq = _from_u64(self.kv.get(self._counter_key()))
            batch = batch if batch is not None else self.kv.batch()
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
            if seqs:
                batch.set(self._counter_key(), _u64(seq))
            batch.apply(fence=(self._lock_name, token))
            return seqs
        finally:
            self.kv.unlock(self._lock_name)

    def delete(self, key: bytes) -> None:
        """Delete one entry (nothing if absent); consumers see it as a deleted `Change`."""
        token = self.kv.lock(self._lock_name)
        try:
            current = self.kv.get(self._entry_key(key))
            if current is None:
                return
            seq = _from_u64(self.kv.get(self._counter_key())) + 1
            batch = self.kv.batch()
            batch.delete(self._entry_key(key))
            batch.delete(self._seq_key(_from_u64(current)))
            batch.set(self._seq_key(seq), bytes(key))  # the tombstone
            batch.set(self._counter_key(), _u64(seq))
            batch.apply(fence=(self._lock_name, token))
        finally:
            self.kv.unlock(self._lock_name)

    def latest(self) -> int:
        """The sequence number of the latest modification (0 when empty)."""
        return _from_u64(self.kv.get(self._counter_key()))

    def scan(self, first: bytes | None = None, last: bytes | None = None) -> Iterator[Entry]:
        """The entries in key order: all, or those with `first <= key <= last` (keys
        compare bytewise, so with `ordered` keys a range of tuples is a range of keys)."""
        start = ordered.encode("timed", self.kind, *(() if first is None else (first,)))
        end = ordered.encode("timed", self.kind, ordered.Inf if last is None else last)
        for k, raw in self.kv.scan(start, end):
            _, _, key = ordered.decode(k, str, str, bytes)
            yield Entry(self.kind, key, raw[_SEQ:], _from_u64(raw))

    def after(self, seq: int) -> Iterator[Entry]:
        """Entries modified after `seq`, in modification order (deletions left out)."""
        for change in self.changes(seq):
            if change.entry is not None:
                yield change.entry

    def changes(self, seq: int) -> Iterator[Change]:
        """Modifications after `seq`, deletions included, in modification order."""
        start = self._seq_key(seq + 1)
        end = ordered.encode("timed.seq", self.kind, ordered.Inf)
        for k, key in self.kv.scan(start, end):
            change_seq = ordered.decode(k, str, str, int)[2]
            entry = self.get(key)
            if entry is None:
                yield Change(self.kind, key, change_seq, None)
            # Else overwritten since this index entry was read: its newer entry comes later.
            elif entry.seq == change_seq:
                yield Change(self.kind, key, change_seq, entry)


class Consumer:
    """A named, durable, fenced consumer of a collection's changes (deletions included).

    Use it under `locked()`, so two processes running the same consumer never handle
    the same change at once. Read `changes()` (or `batches(n)`), write the results into
    a batch of the same store, and `commit(batch, seq)`: the results and the new cursor
    are applied together, atomically, fenced by the consumer's lock. A consumer killed
    mid-batch therefore leaves neither results nor cursor of that batch behind, and one
    that lost its lock cannot write either: nothing is lost or processed twice.

    Its cursor is the same stored cursor as a `Watcher` of the same kind and name.
    """

    def __init__(self, kv: KV, kind: str, name: str) -> None:
        self.kv = kv
        self.collection = Collection(kv, kind)
        self.name = name
        self._cursor_key = ordered.encode("timed.watch", kind, name)
        self._lock_name = f"timed.watch:{kind}:{name}"
        self._fence: Fence | None = None

    @contextlib.contextmanager
    def locked(self, timeout: float | None = None) -> Iterator[Self]:
        token = self.kv.lock(self._lock_name, timeout=timeout)
        self._fence = (self._lock_name, token)
        try:
            yield self
        finally:
            self._fence = None
            with contextlib.suppress(LockError):
                self.kv.unlock(self._lock_name)

    def cursor(self) -> int:
        """The last committed sequence number (0: nothing yet)."""
        return _from_u64(self.kv.get(self._cursor_key))

    def changes(self) -> Iterator[Change]:
        """Changes after the cursor, oldest first."""
        return self.collection.changes(self.cursor())

    def batches(self, size: int) -> Iterator[list[Change]]:
        """`changes()` in lists of up to `size`; commit each before taking the next."""
        batch: list[Change] = []
        for change in self.changes():
            batch.append(change)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def commit(self, batch: Batch, seq: int) -> None:
        """Apply `batch` (the results) and move the cursor to `seq`, atomically and
        fenced by the lock (held: see `locked`). The cursor never moves back."""
        batch.apply(fence=self.stage(batch, seq))

    def stage(self, batch: Batch, seq: int) -> Fence:
        """Put the cursor's move to `seq` into `batch` without applying it; returns the
        consumer's fence, which the batch must be applied with — for results whose writer
        applies the batch under a lock of its own (`VectorIndex.update(batch=, fence=)`),
        so results and cursor still land together."""
        if self._fence is None:
            raise LockError(f"consumer {self.name!r} commits only under locked()")
        if seq > self.cursor():
            batch.set(self._cursor_key, _u64(seq))
        return self._fence

    def restart(self, batch: Batch | None = None) -> None:
        """Forget the cursor (with `batch`'s writes, atomically, when given): the next
        `changes()` starts from the beginning."""
        if self._fence is None:
            raise LockError(f"consumer {self.name!r} restarts only under locked()")
        batch = batch if batch is not None else self.kv.batch()
        batch.delete(self._cursor_key)
        batch.apply(fence=self._fence)


class Watcher(Consumer):
    """A consumer's cursor-only face (same cursor and lock): entries, not deletions.

    `recent()` yields entries modified after the cursor; `mark_old(seq)` moves the
    cursor forward (never back). Hold `locked()` while processing so two processes
    running the same watcher never handle the same entry at once; cursor writes are
    then fenced by that lock.
    """

    def recent(self) -> Iterator[Entry]:
        """Entries modified after the cursor, oldest first (deletions are not seen)."""
        return self.collection.after(self.cursor())

    def mark_old(self, seq: int) -> None:
        """Record that everything up to `seq` was processed. Only moves forward."""
        if seq > self.cursor():
            batch = self.kv.batch()
            batch.set(self._cursor_key, _u64(seq))
            batch.apply(fence=self._fence)

    def restart(self, batch: Batch | None = None) -> None:
        """Forget the cursor: the next `recent()` starts from the beginning. (A watcher
        may restart without its lock, as it always could; fenced when it holds it.)"""
        batch = batch if batch is not None else self.kv.batch()
        batch.delete(self._cursor_key)
        batch.apply(fence=self._fence)

    def latest(self) -> int:
        """The collection's latest sequence number."""
        return self.collection.latest()
