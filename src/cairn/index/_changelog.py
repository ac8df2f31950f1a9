"""A vector index's change log in the store: for each write, an entry under its
sequence number naming the live vector, and for each deletion a tombstone; a reader
(the exact matrix, the HNSW graph, a snapshot) catches up from the last sequence number
it saw with `changes`. The writes themselves are made by `VectorIndex` in its batches
with `seq_key`/`del_key` and `LABEL`.

Layout (keys encoded with `ordered`):
  ("vec.seq", name, seq)     → label u64 | id         (the live entry written at seq)
  ("vec.del", name, seq)     → label u64 | id         (tombstone; purged by `save`)
"""

from __future__ import annotations

import heapq
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..store import KV, ordered

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

SEQ = "vec.seq"
DEL = "vec.del"
LABEL = struct.Struct(">Q")

# A vector's stored entry by id: (label, seq, vector), or None when it is gone.
Read = Callable[[str], "tuple[int, int, NDArray[np.float32]] | None"]


@dataclass(frozen=True)
class Change:
    seq: int
    id: str
    label: int
    vector: NDArray[np.float32] | None  # None: deleted


class ChangeLog:
    """The change log of the vector index `name` in `kv`."""

    def __init__(self, kv: KV, name: str) -> None:
        self.kv = kv
        self.name = name
        # encode(a, b, c) == encode(a, b) + encode(c): the prefixes are encoded once.
        self._seq_prefix = ordered.encode(SEQ, name)
        self._del_prefix = ordered.encode(DEL, name)

    def seq_key(self, seq: int) -> bytes:
        return self._seq_prefix + ordered.encode(seq)

    def del_key(self, seq: int) -> bytes:
        return self._del_prefix + ordered.encode(seq)

    def changes(self, after: int, read: Read) -> Iterator[Change]:
        """Changes with seq > after, in seq order: live entries and tombstones merged."""

        def live() -> Iterator[Change]:
            end = ordered.encode(SEQ, self.name, ordered.Inf)
            for key, value in self.kv.scan(self.seq_key(after + 1), end):
                seq = ordered.decode(key, str, str, int)[2]
                id_ = value[LABEL.size :].decode()
                entry = read(id_)
                if entry is None:
                    continue  # deleted since: its tombstone comes later
                label, entry_seq, vector = entry
                if entry_seq == seq:  # else overwritten since: the newer entry comes later
                    yield Change(seq, id_, label, vector)

        def dead() -> Iterator[Change]:
            end = ordered.encode(DEL, self.name, ordered.Inf)
            for key, value in self.kv.scan(self.del_key(after + 1), end):
                seq = ordered.decode(key, str, str, int)[2]
                (label,) = LABEL.unpack_from(value)
                yield Change(seq, value[LABEL.size :].decode(), label, None)

        return heapq.merge(live(), dead(), key=lambda change: change.seq)
