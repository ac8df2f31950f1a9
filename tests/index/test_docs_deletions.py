"""embed_docs follows deletions too: a doc deleted from the corpus loses its vector at
the next run, and deletions are not counted as docs to embed."""

from __future__ import annotations

from cairn.index import Doc, Docs, VectorIndex, embed_docs, index_stats
from cairn.store import SQLiteKV

from .conftest import CountingEmbedder


def test_docs_deleted_from_the_corpus_lose_their_vectors_at_the_next_run(kv: SQLiteKV) -> None:
    docs, embedder = Docs(kv), CountingEmbedder()
    index = VectorIndex(kv, "docs")
    docs.add(Doc(f"d{i}", f"T{i}", f"text {i}") for i in range(6))
    assert embed_docs(kv, embedder, index, batch_size=4).embedded == 6
    assert docs.delete(["d1", "d4", "nope"]) == 2
    docs.add([Doc("d9", "T9", "new")])
    assert index_stats(kv)["docs_to_embed"] == 1
    calls = embedder.calls
    report = embed_docs(kv, embedder, index, batch_size=4)
    assert (report.embedded, report.batches, embedder.calls) == (1, 1, calls + 1)
    assert sorted(docs.ids()) == ["d0", "d2", "d3", "d5", "d9"]
    assert "d1" not in index and "d4" not in index and len(index) == 5
    assert index_stats(kv)["docs_to_embed"] == 0
    assert embed_docs(kv, embedder, index).embedded == 0
