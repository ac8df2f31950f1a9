"""The approximate half of the vector index: an HNSW graph (usearch) over unit vectors,
keyed by the integer labels the vector index assigns, and its snapshot in the store.

A snapshot is the graph's serialized bytes split into chunks of at most 1 MiB under a
generation number; the generation's metadata is written last, in the same batch that
deletes older generations, so a reader sees a whole snapshot or the previous one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..store import KV, Batch, Fence, ordered
from ._errors import VectorIndexError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

CHUNK = 1 << 20

_SNAP = "vec.hnsw"  # ("vec.hnsw", name) → JSON SnapshotInfo
_CHUNK = "vec.hnsw.chunk"  # ("vec.hnsw.chunk", name, gen, i) → ≤ 1 MiB of the graph


@dataclass(frozen=True)
class HNSWParams:
    """Graph parameters. More connectivity or expansion: better recall, slower.

    `dtype` is how the graph stores vectors ("f32", "f16", "i8"): candidates are
    re-scored exactly from the float32 vectors, so a smaller type mostly costs little
    recall and saves memory.
    """

    # Tuned on 1M clustered 384-dim vectors (bench/vectors.py, 2 cores): recall@10 0.99
    # at ~0.5 ms a query. i8 builds faster than f16 here, which lacks native f16 math.
    connectivity: int = 32
    expansion_add: int = 96
    expansion_search: int = 256
    dtype: str = "i8"


@dataclass(frozen=True)
class SnapshotInfo:
    gen: int
    seq: int  # the index's sequence number the graph reflects
    size: int
    chunks: int
    count: int
    dims: int
    connectivity: int
    dtype: str

    def dump(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @staticmethod
    def load(raw: bytes | None) -> SnapshotInfo | None:
        if raw is None:
            return None
        try:
            return SnapshotInfo(**json.loads(raw))
        except (ValueError, TypeError):
            return None  # unreadable metadata: treat as no snapshot and rebuild


def snapshot_key(name: str) -> bytes:
    return ordered.encode(_SNAP, name)


def read_snapshot_info(kv: KV, name: str) -> SnapshotInfo | None:
    return SnapshotInfo.load(kv.get(snapshot_key(name)))


def new_graph(dims: int, params: HNSWParams) -> Any:
    from usearch.index import Index

    return Index(
        ndim=dims,
        metric="ip",  # vectors are unit length, so inner product is cosine
        dtype=params.dtype,
        connectivity=params.connectivity,
        expansion_add=params.expansion_add,
        expansion_search=params.expansion_search,
    )


def build(
    dims: int, params: HNSWParams, labels: NDArray[np.uint64], unit: NDArray[np.float32]
) -> Any:
    graph = new_graph(dims, params)
    if len(labels):
        graph.add(labels, unit)
    return graph


def upsert(graph: Any, labels: NDArray[np.uint64], unit: NDArray[np.float32]) -> None:
    """Add vectors, replacing those whose labels the graph already holds."""
    if not len(labels):
        return
    present = graph.contains(labels)
    if present.any():
        graph.remove(labels[present])
    graph.add(labels, unit)


def remove(graph: Any, labels: NDArray[np.uint64]) -> None:
    if not len(labels):
        return
    present = graph.contains(labels)
    if present.any():
        graph.remove(labels[present])


def search(
    graph: Any, query: NDArray[np.float32], count: int, expansion: int
) -> NDArray[np.uint64]:
    import numpy as np

    if count <= 0 or len(graph) == 0:
        return np.zeros(0, dtype=np.uint64)
    graph.expansion_search = max(expansion, count)
    matches = graph.search(query, count)
    keys: NDArray[np.uint64] = np.asarray(matches.keys, dtype=np.uint64)
    return keys


def _chunk_key(name: str, gen: int, i: int) -> bytes:
    return ordered.encode(_CHUNK, name, gen, i)


def save(
    kv: KV,
    name: str,
    graph: Any,
    *,
    seq: int,
    params: HNSWParams,
    fence: Fence,
    finish: Callable[[Batch], None],
) -> SnapshotInfo:
    """Write `graph`, which reflects sequence number `seq`, as a new generation.

    `finish(batch)` adds the caller's writes to the final batch, which also switches the
    metadata to the new generation and drops the older ones.
    """
    old = read_snapshot_info(kv, name)
    gen = (old.gen if old else 0) + 1
    batch = kv.batch()
    # Leftovers of a save that died half-way would carry this generation number or a later one.
    batch.delete_range(ordered.encode(_CHUNK, name, gen), ordered.encode(_CHUNK, name, ordered.Inf))
    with tempfile.TemporaryDirectory(prefix="cairn-hnsw-") as tmp:
        path = Path(tmp) / "graph.usearch"
        graph.save(os.fspath(path))
        size = path.stat().st_size
        chunks = 0
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                batch.set(_chunk_key(name, gen, chunks), chunk)
                chunks += 1
                batch.maybe_apply(fence)
    info = SnapshotInfo(
        gen=gen,
        seq=seq,
        size=size,
        chunks=chunks,
        count=len(graph),
        dims=int(graph.ndim),
        connectivity=params.connectivity,
        dtype=params.dtype,
    )
    batch.delete_range(ordered.encode(_CHUNK, name), ordered.encode(_CHUNK, name, gen))
    batch.set(snapshot_key(name), info.dump())
    finish(batch)
    batch.apply(fence)
    return info


def load(kv: KV, name: str, info: SnapshotInfo, params: HNSWParams) -> Any:
    """The graph of snapshot `info`; VectorIndexError if its chunks are missing or damaged."""
    from usearch.index import Index

    start = ordered.encode(_CHUNK, name, info.gen)
    end = ordered.encode(_CHUNK, name, info.gen, ordered.Inf)
    with tempfile.TemporaryDirectory(prefix="cairn-hnsw-") as tmp:
        path = Path(tmp) / "graph.usearch"
        chunks = size = 0
        with path.open("wb") as f:
            for _, chunk in kv.scan(start, end):
                f.write(chunk)
                chunks += 1
                size += len(chunk)
        if chunks != info.chunks or size != info.size:
            raise VectorIndexError(
                f"vector index {name!r}: approximate index snapshot is incomplete"
                f" ({chunks}/{info.chunks} chunks, {size}/{info.size} bytes)"
            )
        try:
            graph = Index.restore(
                os.fspath(path),
                expansion_add=params.expansion_add,
                expansion_search=params.expansion_search,
            )
        except Exception as exc:  # usearch raises RuntimeError and ValueError alike
            raise VectorIndexError(f"vector index {name!r}: snapshot unreadable: {exc}") from None
    if graph is None or graph.ndim != info.dims or len(graph) != info.count:
        raise VectorIndexError(f"vector index {name!r}: snapshot does not match its metadata")
    return graph
