"""How a vector index lies in the store: the keys, the record of one vector, and the
index's metadata. `VectorIndex` (`_vectors`) reads and writes through these; the change
log's keys are `_changelog`'s and the graph snapshot's `_hnsw`'s.

Layout (keys encoded with `ordered`):
  ("vec", name, id)          → label u64 | seq u64 | float32 LE × dims
  ("vec.meta", name)         → JSON: dims, model, seq, count, next_label, floor
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ._errors import VectorIndexError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

VEC = "vec"
META = "vec.meta"
HEAD = struct.Struct(">QQ")
F32 = "<f4"


@dataclass
class Meta:
    dims: int | None = None
    model: str | None = None
    seq: int = 0
    count: int = 0
    next_label: int = 1
    floor: int = 0  # tombstones with seq <= floor are gone: catching up from below reloads

    def dump(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @staticmethod
    def load(raw: bytes | None, name: str) -> Meta:
        if raw is None:
            return Meta()
        try:
            return Meta(**json.loads(raw))
        except (ValueError, TypeError):
            raise VectorIndexError(f"vector index {name!r}: metadata is damaged") from None


def unpack(raw: bytes, dims: int, name: str) -> tuple[int, int, NDArray[np.float32]]:
    """A vector's record: (label, seq, vector); VectorIndexError when it is damaged."""
    import numpy as np

    if len(raw) != HEAD.size + 4 * dims:
        raise VectorIndexError(
            f"vector index {name!r}: a record has {len(raw)} bytes, expected"
            f" {HEAD.size + 4 * dims} for {dims} dims"
        )
    label, seq = HEAD.unpack_from(raw)
    return label, seq, np.frombuffer(raw, dtype=F32, offset=HEAD.size).astype(np.float32)
