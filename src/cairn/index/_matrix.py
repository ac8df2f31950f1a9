"""The exact search path's in-memory state: a matrix of unit vectors by row, with their
ids, HNSW labels and sequence numbers, loaded from the index's records and kept in step
with its change log, and the top-k by one matrix product."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..store import ordered
from ._blas import one_thread
from ._changelog import Change
from ._layout import F32, HEAD, unpack

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


class Matrix:
    """The exact path's in-memory state: unit vectors by row, with their ids and labels."""

    def __init__(self, dims: int, seq: int) -> None:
        import numpy as np

        self.dims = dims
        self.seq = seq
        self.n = 0
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self.row_of_label: dict[int, int] = {}
        self.labels = np.zeros(0, dtype=np.uint64)
        self.seqs = np.zeros(0, dtype=np.uint64)
        self.unit = np.zeros((0, dims), dtype=np.float32)

    @property
    def nbytes(self) -> int:
        return int(self.unit.nbytes + self.labels.nbytes + self.seqs.nbytes)

    def _reserve(self, extra: int) -> None:
        import numpy as np

        need = self.n + extra
        if need <= len(self.labels):
            return
        cap = max(need, len(self.labels) * 3 // 2, 1024)
        for attr in ("labels", "seqs", "unit"):
            old = getattr(self, attr)
            new = np.zeros((cap, *old.shape[1:]), dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, attr, new)

    def put(
        self,
        ids: Sequence[str],
        labels: Sequence[int],
        seqs: Sequence[int],
        unit: NDArray[np.float32],
    ) -> None:
        import numpy as np

        self._reserve(len(ids))
        rows = np.empty(len(ids), dtype=np.int64)
        for i, (id_, label) in enumerate(zip(ids, labels, strict=True)):
            row = self.row_of.get(id_)
            if row is None:
                row = self.n
                self.n += 1
                self.ids.append(id_)
                self.row_of[id_] = row
            else:
                self.row_of_label.pop(int(self.labels[row]), None)
            self.row_of_label[label] = row
            rows[i] = row
        self.labels[rows] = np.asarray(labels, dtype=np.uint64)
        self.seqs[rows] = np.asarray(seqs, dtype=np.uint64)
        self.unit[rows] = unit

    def remove(self, id_: str) -> None:
        row = self.row_of.pop(id_, None)
        if row is None:
            return
        self.row_of_label.pop(int(self.labels[row]), None)
        last = self.n - 1
        if row != last:
            moved = self.ids[last]
            self.ids[row] = moved
            self.row_of[moved] = row
            self.row_of_label[int(self.labels[last])] = row
            self.labels[row] = self.labels[last]
            self.seqs[row] = self.seqs[last]
            self.unit[row] = self.unit[last]
        self.ids.pop()
        self.n = last

    def lookup(self, id_: str) -> tuple[int, int] | None:
        row = self.row_of.get(id_)
        return None if row is None else (int(self.labels[row]), int(self.seqs[row]))

    def catch_up(self, changes: Iterable[Change]) -> None:
        """Apply the index's changes (in seq order) to the rows."""
        for change in changes:
            if change.vector is None:
                self.remove(change.id)
            else:
                self.put([change.id], [change.label], [change.seq], unit(change.vector[None, :]))
            self.seq = max(self.seq, change.seq)

    def top(
        self, query: NDArray[np.float32], k: int, rows: NDArray[np.int64] | None = None
    ) -> list[tuple[int, float]]:
        """The k best (row, score) pairs among `rows` (all rows when None)."""
        import numpy as np

        with one_thread():
            if rows is None:
                scores = self.unit[: self.n] @ query
                candidates = None
            else:
                scores = self.unit[rows] @ query
                candidates = rows
        k = min(k, len(scores))
        if k <= 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        pairs = [
            (int(candidates[i]) if candidates is not None else int(i), float(scores[i]))
            for i in best
        ]
        pairs.sort(key=lambda p: (-p[1], self.ids[p[0]]))
        return pairs


def unit(matrix: NDArray[np.float32]) -> NDArray[np.float32]:
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    out = np.zeros_like(matrix)
    np.divide(matrix, norms, out=out, where=norms > 0)
    return out


def load_matrix(records: Iterable[tuple[bytes, bytes]], dims: int, seq: int, name: str) -> Matrix:
    """A matrix of the index's vector records (`("vec", name, id)` → record), as of `seq`."""
    import numpy as np

    matrix = Matrix(dims, seq)
    ids: list[str] = []
    labels: list[int] = []
    seqs: list[int] = []
    payload = bytearray()
    size = HEAD.size + 4 * dims
    for key, raw in records:
        if len(raw) != size:
            unpack(raw, dims, name)  # raises with the details
        label, at = HEAD.unpack_from(raw)
        ids.append(ordered.decode(key, str, str, str)[2])
        labels.append(label)
        seqs.append(at)
        payload += memoryview(raw)[HEAD.size :]
    vectors = np.frombuffer(payload, dtype=F32).reshape(len(ids), dims)
    matrix.put(ids, labels, seqs, unit(vectors.astype(np.float32)))
    return matrix
