"""The docs corpus and embed_docs: only new or changed docs are embedded, in batches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from cairn.index import (
    MAX_CHARS,
    Doc,
    Docs,
    EmbeddingError,
    IndexingError,
    VectorIndex,
    delete_docs,
    embed_docs,
    embedding_text,
    index_stats,
    reset_embeddings,
)
from cairn.llm import open_embedder
from cairn.store import LockLostError, SQLiteKV
from cairn.store.timed import Watcher

from ..llm.fake_openai import FakeOpenAI
from .conftest import API_KEY, CountingEmbedder


def corpus(n: int) -> list[Doc]:
    return [Doc(f"d{i}", f"Title {i}", f"text number {i} about topic{i % 3}") for i in range(n)]


def test_docs_round_trip_and_unchanged_docs_are_not_rewritten(kv: SQLiteKV) -> None:
    docs = Docs(kv)
    assert docs.add(corpus(3)) == ["d0", "d1", "d2"]
    assert docs.get("d1") == Doc("d1", "Title 1", "text number 1 about topic1")
    latest = docs.collection.latest()
    assert docs.add(corpus(3)) == []
    assert docs.collection.latest() == latest  # nothing for watchers to see
    assert docs.add([Doc("d1", "Title 1", "changed"), Doc("d9", "", "new")]) == ["d1", "d9"]
    assert [d.id for d in docs] == ["d0", "d1", "d2", "d9"]


def test_malformed_docs_write_nothing(kv: SQLiteKV) -> None:
    docs = Docs(kv)
    with pytest.raises(IndexingError, match="non-empty str id"):
        docs.add([Doc("ok", "t", "x"), Doc("", "t", "x")])
    assert list(docs) == []


def test_embed_docs_embeds_only_new_and_changed_docs(kv: SQLiteKV) -> None:
    docs, embedder = Docs(kv), CountingEmbedder()
    index = VectorIndex(kv, "docs")
    docs.add(corpus(10))
    seen: list[tuple[int, int]] = []
    report = embed_docs(
        kv, embedder, index, batch_size=4, progress=lambda d, t: seen.append((d, t))
    )
    assert (report.embedded, report.batches, embedder.calls) == (10, 3, 3)
    assert seen == [(0, 10), (4, 10), (8, 10), (10, 10)]
    assert len(index) == 10 and index.model == embedder.name

    assert embed_docs(kv, embedder, index).embedded == 0
    assert embedder.calls == 3

    docs.add([*corpus(10), Doc("d3", "Title 3", "rewritten about cats"), Doc("d10", "T", "new")])
    embedder.texts.clear()
    assert embed_docs(kv, embedder, index, batch_size=4).embedded == 2
    assert embedder.texts == ["Title 3\n\nrewritten about cats", "T\n\nnew"]
    assert index.search(embedder.embed(["rewritten about cats"])[0], k=1)[0].id == "d3"


def test_two_watchers_embed_independently(kv: SQLiteKV) -> None:
    Docs(kv).add(corpus(5))
    first, second = CountingEmbedder(), CountingEmbedder()
    embed_docs(kv, first, VectorIndex(kv, "a"), watcher_name="a")
    embed_docs(kv, second, VectorIndex(kv, "b"), watcher_name="b")
    assert len(first.texts) == len(second.texts) == 5


def test_long_docs_are_truncated_before_embedding_and_reported(kv: SQLiteKV) -> None:
    big = Doc("big", "Big", "word " * 200_000)  # a 1 MB document
    assert len(big.text) == 1_000_000
    text, cut = embedding_text(big)
    assert cut and len(text) == MAX_CHARS and text.startswith("Big\n\nword word")
    Docs(kv).add([big, Doc("small", "S", "short")])
    embedder = CountingEmbedder()
    report = embed_docs(kv, embedder, VectorIndex(kv, "docs"))
    assert report.truncated == ("big",)
    assert max(map(len, embedder.texts)) == MAX_CHARS
    assert Docs(kv).get("big") == big  # the stored doc keeps its full text


def test_a_failing_batch_keeps_earlier_batches_and_is_retried_next_run(
    kv: SQLiteKV, embeddings_server: FakeOpenAI
) -> None:
    docs = [Doc(f"d{i}", "", f"doc {i}") for i in range(6)]
    docs[4] = Doc("d4", "", "POISON pill")  # the server refuses this input with 400
    Docs(kv).add(docs)
    index = VectorIndex(kv, "docs")
    client = open_embedder(
        "openai", model="m", base_url=embeddings_server.base_url, api_key=API_KEY
    )
    with pytest.raises(EmbeddingError, match=r"400 .*too long"):
        embed_docs(kv, client, index, batch_size=2)
    assert [f"d{i}" in index for i in range(6)] == [True] * 4 + [False] * 2
    last_stored = Docs(kv).collection.get(b"d3")
    assert last_stored is not None
    assert Watcher(kv, "docs", "embeddocs").cursor() == last_stored.seq

    Docs(kv).add([Doc("d4", "", "doc 4 fixed")])
    assert embed_docs(kv, client, index, batch_size=2).embedded == 2  # d5, then d4
    assert len(index) == 6


def test_vectors_and_cursor_land_together_or_not_at_all(kv: SQLiteKV, tmp_path: Path) -> None:
    """A run that loses the consumer's lock mid-batch (another process took it over)
    writes neither that batch's vectors nor its cursor: they are one fenced batch."""
    Docs(kv).add(corpus(6))
    index = VectorIndex(kv, "docs")
    thief = SQLiteKV(tmp_path / "store.db")

    class LosesTheLock(CountingEmbedder):
        def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
            if self.calls == 1:  # while embedding the second batch, the lock moves on
                kv.unlock("timed.watch:docs:embeddocs")
                thief.lock("timed.watch:docs:embeddocs")
            return super().embed(texts)

    with pytest.raises(LockLostError):
        embed_docs(kv, LosesTheLock(), index, batch_size=3)
    stored = [f"d{i}" in VectorIndex(thief, "docs") for i in range(6)]
    assert stored == [True] * 3 + [False] * 3
    first_batch_end = Docs(kv).collection.get(b"d2")
    assert first_batch_end is not None
    assert Watcher(thief, "docs", "embeddocs").cursor() == first_batch_end.seq
    thief.close()


def test_a_different_embedder_is_refused_and_reset_embeds_everything_again(kv: SQLiteKV) -> None:
    Docs(kv).add(corpus(4))
    embed_docs(kv, CountingEmbedder(64), VectorIndex(kv, "docs"))
    other = CountingEmbedder(32)
    with pytest.raises(IndexingError, match="hash-64"):
        embed_docs(kv, other, VectorIndex(kv, "docs", model="hash-64"))
    index = VectorIndex(kv, "docs")
    reset_embeddings(kv, index)
    assert embed_docs(kv, other, index).embedded == 4
    assert VectorIndex(kv, "docs").stats().dims == 32


def test_deleting_docs_removes_their_vectors_and_stats_count_them(kv: SQLiteKV) -> None:
    Docs(kv).add(corpus(5))
    index = VectorIndex(kv, "docs")
    embed_docs(kv, CountingEmbedder(), index)
    Docs(kv).add([Doc("new", "", "not embedded yet")])
    assert delete_docs(kv, index, ["d0", "d1", "nope"]) == 2
    assert "d0" not in index and len(index) == 3
    stats = index_stats(kv)
    assert (stats["docs"], stats["docs_to_embed"], stats["vectors"]) == (4, 1, 3)
    assert stats["dims"] == 64 and stats["embedder"] == "hash-64"
