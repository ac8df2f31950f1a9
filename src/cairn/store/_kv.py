"""The KV interface every backend implements, and the batch shared by all of them.

Keys and values are bytes; keys sort bytewise (encode tuples with `ordered` so byte
order is tuple order). Scans are inclusive at both ends, ordered and lazy: they read
in pages, so a scan of a million keys holds a page in memory, not a million keys.
Locks are named mutexes that work across processes; acquiring one returns a fencing
token, and a batch applied with `fence=(name, token)` fails with LockLostError if that
lock has since been taken over, so a writer that lost its lock cannot write. A batch may
carry several fences (a consumer's cursor and the index it writes, say): it applies only
if every one of those locks is still held.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal, TypeAlias

from ._errors import KeyTypeError, StoreClosedError

Fence: TypeAlias = tuple[str, int]
Op: TypeAlias = (
    tuple[Literal["set"], bytes, bytes]
    | tuple[Literal["delete"], bytes]
    | tuple[Literal["delete_range"], bytes, bytes]
)

Fences: TypeAlias = tuple[Fence, ...]


def fences_of(fence: Fence | Sequence[Fence] | None) -> Fences:
    """One fence, several, or none, as a tuple of fences."""
    if fence is None:
        return ()
    if len(fence) == 2 and isinstance(fence[0], str):
        return (fence,)  # type: ignore[return-value]  # a single (name, token)
    return tuple(fence)  # type: ignore[arg-type]


SCAN_PAGE = 4096
FIRST_PAGE = 32
MAX_BATCH_BYTES = 4 << 20  # `maybe_apply` flushes past this


def check_bytes(value: object, what: str = "key") -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    hint = " (encode tuples with cairn.store.ordered.encode)" if what == "key" else ""
    raise KeyTypeError(f"{what} must be bytes, not {type(value).__name__}{hint}")


class Batch:
    """Ordered writes applied atomically: all of them or none."""

    def __init__(self, kv: KV) -> None:
        self._kv = kv
        self._ops: list[Op] = []
        self._size = 0

    def __len__(self) -> int:
        return len(self._ops)

    @property
    def size(self) -> int:
        """Approximate bytes the batch will write."""
        return self._size

    def set(self, key: bytes, value: bytes) -> None:
        k, v = check_bytes(key), check_bytes(value, "value")
        self._ops.append(("set", k, v))
        self._size += len(k) + len(v) + 16

    def set_many(self, pairs: Iterable[tuple[bytes, bytes]]) -> None:
        """`set` for each (key, value), in order; none of them if one is not bytes."""
        ops: list[Op] = []
        size = 0
        for key, value in pairs:
            if type(key) is not bytes or type(value) is not bytes:  # rare: check and convert
                key, value = check_bytes(key), check_bytes(value, "value")
            ops.append(("set", key, value))
            size += len(key) + len(value) + 16
        self._ops.extend(ops)
        self._size += size

    def delete(self, key: bytes) -> None:
        k = check_bytes(key)
        self._ops.append(("delete", k))
        self._size += len(k) + 16

    def delete_range(self, start: bytes, end: bytes) -> None:
        s, e = check_bytes(start), check_bytes(end)
        self._ops.append(("delete_range", s, e))
        self._size += len(s) + len(e) + 16

    def apply(self, fence: Fence | Sequence[Fence] | None = None) -> None:
        """Apply every op in order, atomically, if every lock of `fence` (one
        `(name, token)` or several) is still held; the batch is then empty again."""
        if not self._ops:
            return
        ops, self._ops, self._size = self._ops, [], 0
        self._kv._apply(ops, fences_of(fence))

    def maybe_apply(self, fence: Fence | Sequence[Fence] | None = None) -> bool:
        """Apply when the batch has grown past MAX_BATCH_BYTES; True if it did."""
        if self._size < MAX_BATCH_BYTES:
            return False
        self.apply(fence)
        return True

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.apply()


class KV(abc.ABC):
    """An ordered key-value store (see the module docstring for the contract)."""

    _closed = False

    # -- what a backend implements ---------------------------------------------------

    @abc.abstractmethod
    def get(self, key: bytes) -> bytes | None:
        """The value for `key`, or None."""

    @abc.abstractmethod
    def _scan_page(
        self, start: bytes, end: bytes, after: bytes | None, limit: int
    ) -> list[tuple[bytes, bytes]]:
        """Up to `limit` pairs with start <= key <= end (and key > after), in order."""

    @abc.abstractmethod
    def _apply(self, ops: list[Op], fences: Fences) -> None:
        """Apply ops atomically, checking every fence first."""

    @abc.abstractmethod
    def lock(self, name: str, timeout: float | None = None) -> int:
        """Acquire the named lock (blocking); returns its fencing token."""

    @abc.abstractmethod
    def unlock(self, name: str) -> None:
        """Release a lock this store object holds; LockError if it does not hold it."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release locks and connections. Further use raises StoreClosedError."""

    # -- shared ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError("the store is closed")

    def set(self, key: bytes, value: bytes) -> None:
        self._apply([("set", check_bytes(key), check_bytes(value, "value"))], ())

    def delete(self, key: bytes) -> None:
        self._apply([("delete", check_bytes(key))], ())

    def delete_range(self, start: bytes, end: bytes) -> None:
        """Delete every key with start <= key <= end."""
        self._apply([("delete_range", check_bytes(start), check_bytes(end))], ())

    def scan(self, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Pairs with start <= key <= end, in key order, read lazily in pages.

        Writes made during a scan may or may not be seen by it; keys already yielded
        are never yielded again.
        """
        start, end = check_bytes(start), check_bytes(end)
        after: bytes | None = None
        # Pages grow (32, 128, … 4096 rows): short scans fetch little, long ones few round trips.
        size = FIRST_PAGE
        while True:
            page = self._scan_page(start, end, after, size)
            yield from page
            if len(page) < size:
                return
            after = page[-1][0]
            size = min(SCAN_PAGE, size * 4)

    def batch(self) -> Batch:
        self._check_open()
        return Batch(self)

    def __enter__(self) -> KV:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
