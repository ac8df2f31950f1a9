"""The approximate search's graph as a process holds it: built from the exact matrix or
loaded from its snapshot in the store (`_hnsw`), then kept in step with the index's
change log, so a small change never rebuilds it.

`VectorIndex` owns one `GraphCache` and calls it under its own mutex; the cache knows
nothing of locks or writes, only the graph, how far it has caught up (`seq`) and where
it came from (`source`, for `cairn index stats`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..store import KV
from . import _hnsw
from ._changelog import Change
from ._errors import VectorIndexError
from ._hnsw import HNSWParams
from ._matrix import Matrix, unit

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

Changes = Callable[[int], Iterator[Change]]  # the changes after a seq, in seq order


class GraphCache:
    """One index's HNSW graph in this process (None until first needed)."""

    def __init__(self, kv: KV, name: str, params: HNSWParams) -> None:
        self.kv = kv
        self.name = name
        self.params = params
        self.graph: Any = None
        self.seq = 0  # the graph holds every change up to here
        self.source: str | None = None  # "built" or "loaded (+N changes)"

    @property
    def loaded(self) -> bool:
        return self.graph is not None

    @property
    def memory_bytes(self) -> int:
        return int(self.graph.memory_usage) if self.graph is not None else 0

    def drop(self) -> None:
        self.graph, self.source = None, None

    def catch_up(self, seq: int, changes: Changes) -> None:
        """Apply the changes after `self.seq` up to the index's `seq` (if loaded)."""
        if self.graph is not None and self.seq < seq:
            self._apply(changes(self.seq))
            self.seq = seq

    def ensure(self, matrix: Matrix, *, floor: int, seq: int, changes: Changes) -> Any:
        """The graph: as held, else the snapshot when it is usable (same dims, not older
        than the change log's `floor`, not newer than `seq`) plus the changes since it,
        else built from `matrix`."""
        if self.graph is not None:
            return self.graph
        dims = matrix.dims
        info = _hnsw.read_snapshot_info(self.kv, self.name)
        if info is not None and info.dims == dims and floor <= info.seq <= seq:
            try:
                self.graph = _hnsw.load(self.kv, self.name, info, self.params)
            except VectorIndexError:
                self.graph = None  # damaged or incomplete: rebuilt below
            else:
                applied = self._apply(changes(info.seq))
                self.seq = seq
                self.source = f"loaded (+{applied} changes)"
                return self.graph
        n = matrix.n
        self.graph = _hnsw.build(dims, self.params, matrix.labels[:n], matrix.unit[:n])
        self.seq = matrix.seq
        self.source = "built"
        return self.graph

    def written(
        self,
        seq: int,
        removed: Iterable[int],
        labels: NDArray[np.uint64] | None = None,
        units: NDArray[np.float32] | None = None,
    ) -> None:
        """What this process just wrote (at `seq`): removed labels, upserted rows."""
        if self.graph is None:
            return
        import numpy as np

        gone = np.array(list(removed), dtype=np.uint64)
        if len(gone):
            _hnsw.remove(self.graph, gone)
        if labels is not None and units is not None:
            _hnsw.upsert(self.graph, labels, units)
        self.seq = seq

    def _apply(self, changes: Iterable[Change]) -> int:
        import numpy as np

        applied = 0
        for change in changes:
            labels = np.array([change.label], dtype=np.uint64)
            if change.vector is None:
                _hnsw.remove(self.graph, labels)
            else:
                _hnsw.upsert(self.graph, labels, unit(change.vector[None, :]))
            applied += 1
        return applied
