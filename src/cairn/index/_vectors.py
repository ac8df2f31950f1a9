"""A persistent vector index over a KV store, searched by cosine similarity.

Vectors live in the store as little-endian float32 under keys built with `ordered`;
every write bumps a sequence number in the same atomic batch, and an index by sequence
number (plus tombstones for deletions) lets a reader catch up on what changed since it
last looked. Two search paths share those vectors:

- exact: one matrix product over a unit-vector matrix loaded lazily from the store and
  kept in sync on writes;
- approximate: an HNSW graph (usearch) gives `k × oversample` candidates, re-scored
  exactly. Its snapshot in the store is loaded on first use and brought up to date with
  the changes made since it was saved, so a small change never rebuilds the graph.

Layout (keys encoded with `ordered`):
  ("vec", name, id)          → label u64 | seq u64 | float32 LE × dims
  ("vec.seq", name, seq)     → label u64 | id         (the live entry written at seq)
  ("vec.del", name, seq)     → label u64 | id         (tombstone; purged by `save`)
  ("vec.meta", name)         → JSON: dims, model, seq, count, next_label, floor
  ("vec.hnsw", name) and ("vec.hnsw.chunk", name, gen, i): the graph snapshot (_hnsw)

The records and metadata are `_layout`; the change log (entries and tombstones, read
back in seq order) is `_changelog`; the exact path's matrix is `_matrix`; the HNSW graph
as this process holds it is `_graph`, and its snapshot in the store `_hnsw`. This
module keeps the index's face: locking, writes, search, save, stats.

Why its own change log rather than a `store.timed` collection and `Consumer`: the
index's readers are in-memory caches (the matrix, the graph, a snapshot's `seq`) that
catch up from a sequence number, not named durable consumers; each entry carries the
HNSW label the graph needs (kept across overwrites), and `save`
purges the tombstones a snapshot covers, which a shared collection's tombstones cannot
be (other consumers may still need them). Its source, the docs, is followed through a
`Consumer` (`embed_docs`), which also removes the vectors of deleted docs. Moving the
vectors into timed collections would change the stored layout for no gain.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..store import KV, Batch, Fence, fences_of, ordered
from . import _hnsw
from ._changelog import DEL, LABEL, SEQ, Change, ChangeLog
from ._errors import VectorIndexError
from ._graph import GraphCache
from ._hnsw import HNSWParams
from ._layout import F32, HEAD, META, VEC, Meta, unpack
from ._matrix import Matrix, load_matrix, unit

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class Match:
    """A search result: the vector's id and its cosine similarity to the query."""

    id: str
    score: float


@dataclass(frozen=True)
class IndexStats:
    name: str
    count: int
    dims: int | None
    model: str | None
    vector_bytes: int  # float32 payload of all vectors in the store
    snapshot_bytes: int  # the saved HNSW graph (0: none)
    pending: int  # changes since the snapshot, applied when it is loaded
    memory_bytes: int  # this process: exact matrix plus HNSW graph, when loaded
    approximate: str | None  # this process's graph: "built", "loaded", or None


class VectorIndex:
    """Vectors by string id, persisted in `kv` under `name`, searched by cosine similarity.

    `dims` fixes the vector length (else the first write does); `model` names the
    embedder whose vectors this holds and is checked against the stored one, so vectors
    of two models never mix. Searches below `exact_below` vectors are exact unless told
    otherwise. Writes take the store lock `vec:<name>`, so several processes may write.
    """

    def __init__(
        self,
        kv: KV,
        name: str = "docs",
        *,
        dims: int | None = None,
        model: str | None = None,
        params: HNSWParams | None = None,
        oversample: int = 4,
        exact_below: int = 20_000,
    ) -> None:
        self.kv = kv
        self.name = name
        self.dims = dims
        self.model = model
        self.params = params or HNSWParams()
        self.oversample = max(1, oversample)
        self.exact_below = exact_below
        self._mu = threading.RLock()
        self._lock_name = f"vec:{name}"
        self._matrix: Matrix | None = None
        self._graph = GraphCache(kv, name, self.params)
        self._vec_prefix = ordered.encode(VEC, name)
        self._log = ChangeLog(kv, name)

    # -- keys and records --------------------------------------------------------------

    # encode(a, b, c) == encode(a, b) + encode(c): the prefixes are encoded once.

    def _vec_key(self, id_: str) -> bytes:
        return self._vec_prefix + ordered.encode(id_)

    def _seq_key(self, seq: int) -> bytes:
        return self._log.seq_key(seq)

    def _del_key(self, seq: int) -> bytes:
        return self._log.del_key(seq)

    def _meta_key(self) -> bytes:
        return ordered.encode(META, self.name)

    def _read_meta(self) -> Meta:
        meta = Meta.load(self.kv.get(self._meta_key()), self.name)
        if meta.dims is not None and self.dims is not None and meta.dims != self.dims:
            raise VectorIndexError(
                f"vector index {self.name!r} holds {meta.dims}-dim vectors, not {self.dims}-dim"
            )
        if meta.model and self.model and meta.model != self.model:
            raise VectorIndexError(
                f"vector index {self.name!r} holds vectors of {meta.model!r}, not {self.model!r};"
                " use the same embedder, or clear the index and embed again"
            )
        return meta

    def _unpack(self, raw: bytes, dims: int) -> tuple[int, int, NDArray[np.float32]]:
        return unpack(raw, dims, self.name)

    # -- input checks ------------------------------------------------------------------

    def _as_rows(self, vectors: ArrayLike, count: int, meta: Meta) -> NDArray[np.float32]:
        import numpy as np

        try:
            matrix = np.asarray(vectors, dtype=np.float32)
        except (TypeError, ValueError):
            raise VectorIndexError("vectors must be numbers") from None
        if matrix.ndim == 1 and count == 1:
            matrix = matrix.reshape(1, -1)
        if matrix.ndim != 2 or matrix.shape[0] != count:
            raise VectorIndexError(
                f"expected {count} vectors, got an array of shape {matrix.shape}"
            )
        self._check_dims(int(matrix.shape[1]), meta)
        if not np.isfinite(matrix).all():
            raise VectorIndexError("vectors must be finite (no NaN or infinity)")
        return matrix

    def _check_dims(self, got: int, meta: Meta) -> None:
        want = meta.dims or self.dims
        if want is not None and got != want:
            raise VectorIndexError(
                f"vector index {self.name!r} holds {want}-dim vectors; got a {got}-dim vector"
                + (f" (the index was filled by {meta.model!r})" if meta.model else "")
            )
        if got < 1:
            raise VectorIndexError("vectors need at least one dimension")

    # -- catching up with the store ----------------------------------------------------

    def _changes(self, after: int, dims: int) -> Iterator[Change]:
        """Changes with seq > after, in seq order (the change log's), with their vectors."""

        def read(id_: str) -> tuple[int, int, NDArray[np.float32]] | None:
            raw = self.kv.get(self._vec_key(id_))
            return None if raw is None else self._unpack(raw, dims)

        return self._log.changes(after, read)

    def _load_matrix(self, meta: Meta) -> Matrix:
        dims = meta.dims or 0
        records = self.kv.scan(
            ordered.encode(VEC, self.name), ordered.encode(VEC, self.name, ordered.Inf)
        )
        matrix = load_matrix(records, dims, meta.seq, self.name)
        # The scan is not a snapshot: replay what changed since it began (idempotent).
        matrix.catch_up(self._changes(meta.seq, dims))
        return matrix

    def _sync(self, meta: Meta, *, need_matrix: bool) -> Matrix | None:
        """Bring the in-memory state up to `meta.seq` (loading the matrix if asked)."""
        dims = meta.dims
        if dims is None:
            self._matrix = None
            self._graph.drop()
            return None
        m = self._matrix
        if m is not None and (m.dims != dims or m.seq < meta.floor or m.seq > meta.seq):
            m = self._matrix = None  # cleared, or too far behind to catch up: reload
            self._graph.drop()
        if m is None:
            if not need_matrix:
                return None
            m = self._matrix = self._load_matrix(meta)
        elif m.seq < meta.seq:
            m.catch_up(self._changes(m.seq, dims))
            m.seq = max(m.seq, meta.seq)
        self._graph.catch_up(meta.seq, lambda after: self._changes(after, dims))
        return m

    def _ensure_graph(self, meta: Meta, matrix: Matrix) -> Any:
        dims = matrix.dims
        return self._graph.ensure(
            matrix, floor=meta.floor, seq=meta.seq, changes=lambda after: self._changes(after, dims)
        )

    # -- writing -----------------------------------------------------------------------

    def _locked_write(self) -> tuple[Meta, Fence]:
        token = self.kv.lock(self._lock_name)
        try:
            meta = self._read_meta()
            self._sync(meta, need_matrix=False)
        except BaseException:
            self.kv.unlock(self._lock_name)
            raise
        return meta, (self._lock_name, token)

    def _lookup(self, id_: str, dims: int | None) -> tuple[int, int] | None:
        if self._matrix is not None:
            return self._matrix.lookup(id_)
        raw = self.kv.get(self._vec_key(id_))
        if raw is None or dims is None:
            return None
        label, seq, _ = self._unpack(raw, dims)
        return label, seq

    def set(self, id_: str, vector: ArrayLike) -> None:
        """Store one vector under `id_`, replacing any earlier one."""
        self.set_many([id_], vector)

    def set_many(self, ids: Sequence[str], vectors: ArrayLike) -> None:
        """Store vectors (one row per id) in one atomic batch; a repeated id keeps its last row.

        Raises VectorIndexError, with nothing written, if any row has the wrong dimension
        or is not finite.
        """
        self.update(ids, vectors)

    def update(
        self,
        ids: Sequence[str] = (),
        vectors: ArrayLike | None = None,
        *,
        delete: Iterable[str] = (),
        batch: Batch | None = None,
        fence: Fence | Sequence[Fence] = (),
    ) -> int:
        """Remove the vectors of `delete`, then store `vectors` under `ids`, in one atomic
        batch; returns how many of `delete` existed.

        With `batch` (the caller's other writes: a consumer's cursor, say) and its
        `fence`, all of them are applied together, fenced by the index's lock and the
        caller's: a process killed before the apply leaves none of them, and one that
        lost either lock writes nothing. The batch is applied even when there is nothing
        to write here. Raises VectorIndexError, with nothing written, if any row has the
        wrong dimension or is not finite.
        """
        import numpy as np

        ids = list(ids)
        for id_ in ids:
            if not isinstance(id_, str):
                raise VectorIndexError(f"ids must be str, not {type(id_).__name__}")
        kept = set(ids)
        gone = [id_ for id_ in dict.fromkeys(delete) if id_ not in kept]
        caller = fences_of(fence)
        if not ids and not gone:
            if batch is not None:
                batch.apply(caller)
            return 0
        with self._mu:
            meta, own = self._locked_write()
            removed: list[tuple[str, int]] = []
            labels: list[int] = []
            seqs: list[int] = []
            try:
                rows = None
                if ids:
                    if vectors is None:
                        raise VectorIndexError(f"{len(ids)} ids given without vectors")
                    rows = self._as_rows(vectors, len(ids), meta)
                if rows is not None:
                    last = {id_: i for i, id_ in enumerate(ids)}
                    if len(last) < len(ids):
                        keep = sorted(last.values())
                        ids, rows = [ids[i] for i in keep], rows[keep]
                batch = batch if batch is not None else self.kv.batch()
                removed = self._delete_rows(batch, meta, gone)
                if rows is not None:
                    labels, seqs = self._write_rows(batch, meta, ids, rows)
                    meta.dims = int(rows.shape[1])
                    meta.model = meta.model or self.model
                batch.set(self._meta_key(), meta.dump())
                batch.apply((own, *caller))
            finally:
                self.kv.unlock(self._lock_name)
            if self._matrix is not None:
                for id_, _ in removed:
                    self._matrix.remove(id_)
                self._matrix.seq = meta.seq
            units = unit(rows) if rows is not None else None
            if self._matrix is not None and units is not None:
                self._matrix.put(ids, labels, seqs, units)
            self._graph.written(
                meta.seq,
                [label for _, label in removed],
                np.asarray(labels, dtype=np.uint64) if units is not None else None,
                units,
            )
            return len(removed)

    def _write_rows(
        self, batch: Batch, meta: Meta, ids: list[str], rows: NDArray[np.float32]
    ) -> tuple[list[int], list[int]]:
        labels: list[int] = []
        seqs: list[int] = []
        little = rows.astype(F32, copy=False)
        for id_, row in zip(ids, little, strict=True):
            old = self._lookup(id_, meta.dims)
            if old is None:
                label = meta.next_label
                meta.next_label += 1
                meta.count += 1
            else:
                label = old[0]
                batch.delete(self._seq_key(old[1]))
            meta.seq += 1
            batch.set(self._vec_key(id_), HEAD.pack(label, meta.seq) + row.tobytes())
            batch.set(self._seq_key(meta.seq), LABEL.pack(label) + id_.encode())
            labels.append(label)
            seqs.append(meta.seq)
        return labels, seqs

    def delete(self, id_: str) -> bool:
        """Remove the vector under `id_`; False if there was none."""
        return self.delete_many([id_]) == 1

    def delete_many(self, ids: Iterable[str]) -> int:
        """Remove vectors in one atomic batch; returns how many existed."""
        return self.update(delete=ids)

    def _delete_rows(self, batch: Batch, meta: Meta, ids: list[str]) -> list[tuple[str, int]]:
        removed: list[tuple[str, int]] = []
        for id_ in ids:
            old = self._lookup(id_, meta.dims)
            if old is None:
                continue
            label, seq = old
            batch.delete(self._vec_key(id_))
            batch.delete(self._seq_key(seq))
            meta.seq += 1
            meta.count -= 1
            batch.set(self._del_key(meta.seq), LABEL.pack(label) + id_.encode())
            removed.append((id_, label))
        return removed

    def clear(self) -> None:
        """Remove every vector, the snapshot and the recorded dims and model."""
        with self._mu:
            token = self.kv.lock(self._lock_name)
            try:
                batch = self.kv.batch()
                for prefix in (VEC, SEQ, DEL, "vec.hnsw.chunk"):
                    batch.delete_range(
                        ordered.encode(prefix, self.name),
                        ordered.encode(prefix, self.name, ordered.Inf),
                    )
                batch.delete(_hnsw.snapshot_key(self.name))
                batch.delete(self._meta_key())
                batch.apply((self._lock_name, token))
            finally:
                self.kv.unlock(self._lock_name)
            self._matrix = None
            self._graph.drop()

    # -- reading -----------------------------------------------------------------------

    def get(self, id_: str) -> NDArray[np.float32] | None:
        """The vector stored under `id_` (as written), or None."""
        with self._mu:
            meta = self._read_meta()
            raw = self.kv.get(self._vec_key(id_))
            if raw is None or meta.dims is None:
                return None
            return self._unpack(raw, meta.dims)[2]

    def __len__(self) -> int:
        return self._read_meta().count

    def __contains__(self, id_: object) -> bool:
        return isinstance(id_, str) and self.kv.get(self._vec_key(id_)) is not None

    def search(self, vector: ArrayLike, k: int = 10, *, exact: bool | None = None) -> list[Match]:
        """The k stored vectors most similar to `vector` by cosine, best first.

        `exact=True` scores every vector; `exact=False` uses the HNSW graph (built or
        loaded on first use) and re-scores its `k × oversample` candidates exactly;
        None picks exact below `exact_below` vectors. A zero query matches nothing.
        """
        import numpy as np

        with self._mu:
            meta = self._read_meta()
            if meta.dims is None or k <= 0:
                if meta.dims is None and self.dims is not None:
                    self._as_rows(vector, 1, meta)  # still report a wrong dimension
                return []
            query = self._as_rows(vector, 1, meta)[0]
            norm = float(np.linalg.norm(query))
            if norm == 0.0:
                return []
            query = query / norm
            matrix = self._sync(meta, need_matrix=True)
            assert matrix is not None
            if matrix.n == 0:
                return []
            use_exact = exact if exact is not None else matrix.n < self.exact_below
            if use_exact:
                pairs = matrix.top(query, k)
            else:
                graph = self._ensure_graph(meta, matrix)
                want = min(matrix.n, k * self.oversample)
                labels = _hnsw.search(graph, query, want, self.params.expansion_search)
                rows = [matrix.row_of_label.get(int(label)) for label in labels]
                found = np.array([r for r in rows if r is not None], dtype=np.int64)
                pairs = matrix.top(query, k, found)
            return [Match(matrix.ids[row], score) for row, score in pairs]

    def load(self, *, approximate: bool = False) -> None:
        """Load the exact matrix now (and the HNSW graph, when `approximate`), rather
        than on the first search: a server warms up before it takes queries."""
        with self._mu:
            meta = self._read_meta()
            matrix = self._sync(meta, need_matrix=True)
            if approximate and matrix is not None:
                self._ensure_graph(meta, matrix)

    # -- the approximate index's snapshot ----------------------------------------------

    def save(self) -> int:
        """Persist the HNSW graph (building it if needed) so the next process loads it
        instead of rebuilding; purges tombstones it no longer needs. Returns its size."""
        with self._mu:
            meta, fence = self._locked_write()
            try:
                if meta.dims is None:
                    return 0
                matrix = self._sync(meta, need_matrix=True)
                assert matrix is not None
                graph = self._ensure_graph(meta, matrix)

                def finish(batch: Batch) -> None:
                    batch.delete_range(self._del_key(0), self._del_key(meta.seq))
                    meta.floor = meta.seq
                    batch.set(self._meta_key(), meta.dump())

                info = _hnsw.save(
                    self.kv,
                    self.name,
                    graph,
                    seq=meta.seq,
                    params=self.params,
                    fence=fence,
                    finish=finish,
                )
                return info.size
            finally:
                self.kv.unlock(self._lock_name)

    def maybe_save(self) -> bool:
        """`save` when the index is big enough for approximate search and the snapshot is
        missing or behind by more than a tenth of the index (at least 1000 changes)."""
        meta = self._read_meta()
        if meta.count < self.exact_below:
            return False
        info = _hnsw.read_snapshot_info(self.kv, self.name)
        if info is not None and meta.seq - info.seq < max(1000, meta.count // 10):
            return False
        self.save()
        return True

    def stats(self) -> IndexStats:
        with self._mu:
            meta = self._read_meta()
            info = _hnsw.read_snapshot_info(self.kv, self.name)
            memory = self._matrix.nbytes if self._matrix is not None else 0
            memory += self._graph.memory_bytes
            return IndexStats(
                name=self.name,
                count=meta.count,
                dims=meta.dims,
                model=meta.model,
                vector_bytes=meta.count * 4 * (meta.dims or 0),
                snapshot_bytes=info.size if info else 0,
                pending=meta.seq - (info.seq if info else 0),
                memory_bytes=memory,
                approximate=self._graph.source if self._graph.loaded else None,
            )
