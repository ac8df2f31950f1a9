"""VectorIndex on SQLite: writes, exact and approximate search, persistence, catching up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cairn.index import HNSWParams, VectorIndex, VectorIndexError
from cairn.store import SQLiteKV, ordered

from .conftest import clustered


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_set_get_delete_and_search_by_cosine(kv: SQLiteKV) -> None:
    index = VectorIndex(kv, "t")
    index.set("east", [1.0, 0.0, 0.0])
    index.set("north-east", [2.0, 2.0, 0.0])  # length does not matter for cosine
    index.set("up", [0.0, 0.0, 5.0])
    assert len(index) == 3 and "up" in index and "down" not in index
    np.testing.assert_array_equal(index.get("north-east"), np.array([2, 2, 0], np.float32))
    assert index.get("missing") is None

    found = index.search([1.0, 0.1, 0.0], k=2)
    assert [m.id for m in found] == ["east", "north-east"]
    assert found[0].score == pytest.approx(float(unit(np.array([1, 0.1, 0])) @ [1, 0, 0]), abs=1e-6)

    assert index.delete("east") is True and index.delete("east") is False
    assert [m.id for m in index.search([1.0, 0.1, 0.0], k=5)] == ["north-east", "up"]
    assert len(index) == 2


def test_setting_an_id_again_replaces_its_vector(kv: SQLiteKV) -> None:
    index = VectorIndex(kv, "t")
    index.set_many(["a", "b"], [[1, 0], [0, 1]])
    index.set("a", [0, -1])
    assert len(index) == 2
    assert [m.id for m in index.search([0, -1], k=1)] == ["a"]
    assert index.search([1, 0], k=2)[0].score < 0.5


def test_reopened_index_gives_the_same_results(tmp_path: Path) -> None:
    vectors = clustered(2000, 32, clusters=20, seed=1)
    queries = clustered(20, 32, clusters=20, seed=2)
    with SQLiteKV(tmp_path / "s.db") as kv:
        index = VectorIndex(kv, "t")
        index.set_many([f"v{i}" for i in range(2000)], vectors)
        index.delete_many([f"v{i}" for i in range(0, 2000, 7)])
        before = [index.search(q, k=10, exact=True) for q in queries]
    with SQLiteKV(tmp_path / "s.db") as kv:
        after = [VectorIndex(kv, "t").search(q, k=10, exact=True) for q in queries]
    assert before == after
    assert all(int(m.id[1:]) % 7 for found in after for m in found)


def test_wrong_dimension_is_a_clear_error_and_writes_nothing(kv: SQLiteKV) -> None:
    index = VectorIndex(kv, "t")
    index.set_many(["a", "b"], np.ones((2, 8), np.float32))
    with pytest.raises(VectorIndexError, match="holds 8-dim vectors; got a 7-dim vector"):
        index.set_many(["c", "d"], np.ones((2, 7), np.float32))
    with pytest.raises(VectorIndexError, match="8-dim"):
        index.search(np.ones(9, np.float32))
    with pytest.raises(VectorIndexError, match="holds 8-dim vectors, not 4-dim"):
        VectorIndex(kv, "t", dims=4).search(np.ones(4, np.float32))
    assert len(index) == 2 and "c" not in index


def test_a_batch_with_one_bad_row_writes_none_of_it(kv: SQLiteKV) -> None:
    index = VectorIndex(kv, "t")
    rows = np.ones((3, 4), np.float32)
    rows[2, 1] = np.nan
    with pytest.raises(VectorIndexError, match="finite"):
        index.set_many(["a", "b", "c"], rows)
    with pytest.raises(VectorIndexError, match="expected 3 vectors"):
        index.set_many(["a", "b", "c"], np.ones((2, 4), np.float32))
    assert len(index) == 0 and list(kv.scan(b"", b"\xff" * 8)) == []


def test_vectors_are_little_endian_float32_under_ordered_keys(kv: SQLiteKV) -> None:
    VectorIndex(kv, "t").set("doc#1", [1.5, -2.0])
    raw = kv.get(ordered.encode("vec", "t", "doc#1"))
    assert raw is not None
    assert np.frombuffer(raw[16:], "<f4").tolist() == [1.5, -2.0]


def test_indexes_of_another_model_refuse_to_mix(kv: SQLiteKV) -> None:
    VectorIndex(kv, "t", model="hash-4").set("a", [1, 0, 0, 0])
    with pytest.raises(VectorIndexError, match="holds vectors of 'hash-4', not 'other'"):
        VectorIndex(kv, "t", model="other").set("b", [0, 1, 0, 0])


def test_two_instances_see_each_others_writes(tmp_path: Path) -> None:
    with SQLiteKV(tmp_path / "s.db") as kv1, SQLiteKV(tmp_path / "s.db") as kv2:
        first, second = VectorIndex(kv1, "t"), VectorIndex(kv2, "t")
        first.set_many(["a", "b"], [[1, 0], [0, 1]])
        assert [m.id for m in second.search([1, 0], k=1)] == ["a"]  # loads its matrix
        first.set("c", [1, 0.01])
        first.delete("a")
        assert [m.id for m in second.search([1, 0], k=2)] == ["c", "b"]  # caught up
        second.save()  # purges tombstones: the first must reload rather than miss deletes
        second.delete("c")
        assert [m.id for m in first.search([1, 0], k=5)] == ["b"]


def _recall(approx: list[list[str]], exact: list[list[str]]) -> float:
    hits = sum(len(set(a) & set(e)) for a, e in zip(approx, exact, strict=True))
    return hits / sum(len(e) for e in exact)


def test_approximate_search_recall_at_10_is_at_least_095(kv: SQLiteKV) -> None:
    vectors = clustered(5000, 384, clusters=50, seed=3)
    queries = clustered(100, 384, clusters=50, seed=4)
    index = VectorIndex(kv, "t")
    index.set_many([f"v{i}" for i in range(5000)], vectors)
    exact = [[m.id for m in index.search(q, k=10, exact=True)] for q in queries]
    approx = [[m.id for m in index.search(q, k=10, exact=False)] for q in queries]
    assert index.stats().approximate == "built"
    assert _recall(approx, exact) >= 0.95
    # Re-ranking is exact, so the scores of what HNSW found are the true ones.
    q = queries[0]
    best = index.search(q, k=1, exact=False)[0]
    assert best.score == pytest.approx(float(unit(vectors[int(best.id[1:])]) @ unit(q)), abs=1e-5)


def test_approximate_index_is_saved_in_chunks_and_updated_incrementally(
    tmp_path: Path,
) -> None:
    vectors = clustered(3000, 384, clusters=30, seed=5)
    ids = [f"v{i}" for i in range(3000)]
    with SQLiteKV(tmp_path / "s.db") as kv:
        index = VectorIndex(kv, "t")
        index.set_many(ids[:2500], vectors[:2500])
        size = index.save()
        chunks = [
            v
            for _, v in kv.scan(
                ordered.encode("vec.hnsw.chunk", "t"),
                ordered.encode("vec.hnsw.chunk", "t", ordered.Inf),
            )
        ]
        assert size > 1 << 20 and len(chunks) == -(-size // (1 << 20))
        assert all(len(c) <= 1 << 20 for c in chunks) and sum(map(len, chunks)) == size
    with SQLiteKV(tmp_path / "s.db") as kv:  # another process adds, changes and deletes
        index = VectorIndex(kv, "t")
        index.set_many(ids[2500:], vectors[2500:])
        index.set("v0", vectors[2999])
        index.delete_many(["v1", "v2"])
        assert index.stats().pending == 500 + 1 + 2
    with SQLiteKV(tmp_path / "s.db") as kv:
        index = VectorIndex(kv, "t")
        found = index.search(vectors[2700], k=1, exact=False)
        assert index.stats().approximate == "loaded (+503 changes)"  # not rebuilt
        assert found[0].id == "v2700"
        assert {m.id for m in index.search(vectors[2999], k=2, exact=False)} == {"v0", "v2999"}
        for gone in (1, 2):
            assert f"v{gone}" not in {m.id for m in index.search(vectors[gone], k=5, exact=False)}
        exact = [[m.id for m in index.search(v, k=10, exact=True)] for v in vectors[::97]]
        approx = [[m.id for m in index.search(v, k=10, exact=False)] for v in vectors[::97]]
        assert _recall(approx, exact) >= 0.95


def test_a_damaged_snapshot_is_rebuilt_not_trusted(kv: SQLiteKV) -> None:
    vectors = clustered(500, 16, clusters=5, seed=6)
    index = VectorIndex(kv, "t", params=HNSWParams(connectivity=8))
    index.set_many([f"v{i}" for i in range(500)], vectors)
    index.save()
    kv.delete(ordered.encode("vec.hnsw.chunk", "t", 1, 0))
    reopened = VectorIndex(kv, "t")
    assert reopened.search(vectors[10], k=1, exact=False)[0].id == "v10"
    assert reopened.stats().approximate == "built"


def test_clear_forgets_vectors_dims_and_model(kv: SQLiteKV) -> None:
    index = VectorIndex(kv, "t", model="m1")
    index.set_many(["a", "b"], np.eye(2, dtype=np.float32))
    index.save()
    index.clear()
    assert len(index) == 0 and index.search([1, 0]) == []
    VectorIndex(kv, "t", model="m2").set("c", [1, 2, 3])
    assert VectorIndex(kv, "t").stats().dims == 3


def test_zero_query_and_empty_index_match_nothing(kv: SQLiteKV) -> None:
    index = VectorIndex(kv, "t")
    assert index.search([1.0, 2.0]) == []
    index.set("a", [1.0, 2.0])
    assert index.search([0.0, 0.0]) == []
    assert [m.id for m in index.search([1.0, 2.0], k=50, exact=False)] == ["a"]


def test_the_change_log_reads_writes_and_deletions_back_in_order(kv: SQLiteKV) -> None:
    from cairn.index._changelog import ChangeLog

    index = VectorIndex(kv, "log", dims=2)
    index.set("a", [1.0, 0.0])
    index.set("b", [0.0, 1.0])
    index.set("a", [1.0, 1.0])  # overwritten: only its newest entry is live
    assert index.delete("b")
    stored = {id_: index.get(id_) for id_ in ("a", "b")}

    def read(id_: str) -> tuple[int, int, np.ndarray] | None:
        vector = stored[id_]
        return None if vector is None else (0 if id_ == "a" else 1, 3, vector)

    changes = list(ChangeLog(kv, "log").changes(0, read))
    assert [(c.seq, c.id, c.vector is None) for c in changes] == [(3, "a", False), (4, "b", True)]
    assert list(ChangeLog(kv, "log").changes(4, read)) == []
