"""An in-memory KV for unit tests: one process, thread-safe, nothing persisted."""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field

from ._errors import LockError, LockLostError, LockTimeoutError
from ._kv import KV, Fences, Op


@dataclass
class _State:
    keys: list[bytes] = field(default_factory=list)  # sorted
    data: dict[bytes, bytes] = field(default_factory=dict)
    mu: threading.Lock = field(default_factory=threading.Lock)
    locks: threading.Condition = field(default_factory=threading.Condition)
    holders: dict[str, int] = field(default_factory=dict)  # name -> holder's token
    tokens: dict[str, int] = field(default_factory=dict)


class MemoryKV(KV):
    """`MemoryKV(share=other)` opens another handle on `other`'s data, as reopening a
    file would; closing one handle leaves the data to the others."""

    def __init__(self, share: MemoryKV | None = None) -> None:
        self._state: _State = share._state if share is not None else _State()

    def get(self, key: bytes) -> bytes | None:
        self._check_open()
        st = self._state
        with st.mu:
            return st.data.get(bytes(key))

    def _scan_page(
        self, start: bytes, end: bytes, after: bytes | None, limit: int
    ) -> list[tuple[bytes, bytes]]:
        self._check_open()
        st = self._state
        with st.mu:
            i = bisect.bisect_left(st.keys, start)
            if after is not None:
                i = max(i, bisect.bisect_right(st.keys, after))
            out: list[tuple[bytes, bytes]] = []
            while i < len(st.keys) and len(out) < limit and st.keys[i] <= end:
                out.append((st.keys[i], st.data[st.keys[i]]))
                i += 1
            return out

    def _apply(self, ops: list[Op], fences: Fences) -> None:
        self._check_open()
        st = self._state
        with st.locks:
            for fence in fences:
                if st.holders.get(fence[0]) != fence[1]:
                    raise LockLostError(
                        f"lock {fence[0]!r} is no longer held with token {fence[1]}"
                    )
        with st.mu:
            for op in ops:
                if op[0] == "set":
                    if op[1] not in st.data:
                        bisect.insort(st.keys, op[1])
                    st.data[op[1]] = op[2]
                elif op[0] == "delete":
                    if st.data.pop(op[1], None) is not None:
                        del st.keys[bisect.bisect_left(st.keys, op[1])]
                else:
                    lo = bisect.bisect_left(st.keys, op[1])
                    hi = bisect.bisect_right(st.keys, op[2])
                    for key in st.keys[lo:hi]:
                        del st.data[key]
                    del st.keys[lo:hi]

    def lock(self, name: str, timeout: float | None = None) -> int:
        self._check_open()
        st = self._state
        deadline = None if timeout is None else time.monotonic() + timeout
        with st.locks:
            while name in st.holders:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise LockTimeoutError(f"lock {name!r} not acquired within {timeout}s")
                st.locks.wait(remaining)
            token = st.tokens.get(name, 0) + 1
            st.tokens[name] = token
            st.holders[name] = token
            return token

    def unlock(self, name: str) -> None:
        st = self._state
        with st.locks:
            if name not in st.holders:
                raise LockError(f"lock {name!r} is not held")
            del st.holders[name]
            st.locks.notify_all()

    def close(self) -> None:
        self._closed = True
