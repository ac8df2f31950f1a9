"""The docs corpus — (id, title, text) documents in the timed collection "docs" — and
`embed_docs`, which embeds the new and changed ones (and drops the vectors of deleted
ones) incrementally through a `store.timed.Consumer`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from ..privacy import default_redactor
from ..store import KV
from ..store.timed import Collection, Consumer, Entry
from ._embedder import Embedder
from ._errors import IndexingError
from ._vectors import VectorIndex

KIND = "docs"
MAX_CHARS = 8192
"""Characters of a doc (title included) that are embedded; the rest is cut off."""

Progress = Callable[[int, int], None]
"""Called as `progress(done, total)` after each embedded batch."""


@dataclass(frozen=True)
class Doc:
    """One document: a stable id (e.g. "guide/install.md#linux"), a title and its text."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class EmbedReport:
    embedded: int  # docs embedded and stored in the index
    batches: int
    truncated: tuple[str, ...]  # ids of docs cut to `max_chars` before embedding


def _check(doc: Doc) -> Doc:
    if not isinstance(doc.id, str) or not doc.id:
        raise IndexingError(f"a doc needs a non-empty str id, not {doc.id!r}")
    if not isinstance(doc.title, str) or not isinstance(doc.text, str):
        raise IndexingError(f"doc {doc.id!r}: title and text must be str")
    return doc


def _encode(doc: Doc) -> bytes:
    return json.dumps({"title": doc.title, "text": doc.text}, ensure_ascii=False).encode()


def _decode(entry: Entry) -> Doc:
    key = entry.key.decode()
    try:
        fields = json.loads(entry.value)
        return Doc(key, str(fields["title"]), str(fields["text"]))
    except (ValueError, KeyError, TypeError):
        raise IndexingError(f"doc {key!r} is damaged in the store") from None


class Docs:
    """The corpus. Every write bumps the docs' modification sequence, which watchers follow;
    writing a doc exactly as stored is skipped, so it is not embedded again."""

    def __init__(self, kv: KV) -> None:
        self.kv = kv
        self.collection = Collection(kv, KIND)

    def get(self, id_: str) -> Doc | None:
        entry = self.collection.get(id_.encode())
        return None if entry is None else _decode(entry)

    def add(self, docs: Iterable[Doc]) -> list[str]:
        """Store docs in one atomic batch; returns the ids of those new or changed.

        Secrets in a doc are redacted before it is stored (and so before it is embedded,
        perhaps by a remote API). Raises IndexingError, with nothing written, if any doc is
        malformed.
        """
        redact = default_redactor().redact
        latest: dict[str, Doc] = {}
        for doc in docs:
            _check(doc)
            latest[doc.id] = Doc(doc.id, redact(doc.title), redact(doc.text))
        changed = [doc for doc in latest.values() if self.get(doc.id) != doc]
        self.collection.set_many((doc.id.encode(), _encode(doc)) for doc in changed)
        return [doc.id for doc in changed]

    def delete(self, ids: Iterable[str]) -> int:
        """Remove docs; returns how many existed. Their vectors go at the next `embed_docs`
        (or at once with `delete_docs`)."""
        removed = 0
        for id_ in ids:
            if self.collection.get(id_.encode()) is not None:
                self.collection.delete(id_.encode())
                removed += 1
        return removed

    def __iter__(self) -> Iterator[Doc]:
        """All docs, in id order."""
        return (_decode(entry) for entry in self.collection.scan())

    def ids(self) -> Iterator[str]:
        return (entry.key.decode() for entry in self.collection.scan())


def delete_docs(kv: KV, index: VectorIndex, ids: Sequence[str]) -> int:
    """Remove docs and their vectors; returns how many docs existed."""
    removed = Docs(kv).delete(ids)
    index.delete_many(ids)
    return removed


def embedding_text(doc: Doc, max_chars: int = MAX_CHARS) -> tuple[str, bool]:
    """What is embedded for `doc`: its title, a blank line, its text, cut to `max_chars`
    characters. Returns the text and whether it was cut."""
    text = f"{doc.title}\n\n{doc.text}" if doc.title else doc.text
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars], True


def embed_docs(
    kv: KV,
    embedder: Embedder,
    index: VectorIndex,
    *,
    watcher_name: str = "embeddocs",
    batch_size: int = 64,
    max_chars: int = MAX_CHARS,
    progress: Progress | None = None,
) -> EmbedReport:
    """Embed the docs added or changed since the consumer `watcher_name` last ran, and
    drop the vectors of docs deleted since.

    Holds the consumer's lock throughout, so two processes never embed the same docs.
    Each batch of `batch_size` changes is embedded, and its vectors, the removal of
    deleted docs' vectors and the consumer's cursor are written in one atomic batch,
    fenced by both the consumer's lock and the index's: an interrupted run (or a failed
    embedder) loses nothing, stores nothing twice and resumes after the last stored
    batch.

    Long docs are truncated to their first `max_chars` characters (title included)
    before embedding, and listed in the report: the local model reads at most 256 word
    pieces (roughly the first 1,000 characters) anyway, and remote models reject inputs
    over their token limit. The stored doc keeps its full text.

    The index records the embedder's name (`index.model` is set to it when unset), so a
    later run with another embedder fails with VectorIndexError instead of mixing vectors.
    """
    if batch_size < 1:
        raise IndexingError(f"batch size must be at least 1, not {batch_size}")
    if index.model is None:
        index.model = embedder.name
    elif index.model != embedder.name:
        raise IndexingError(
            f"vector index {index.name!r} is for {index.model!r}, not {embedder.name!r}"
        )
    consumer = Consumer(kv, KIND, watcher_name)
    embedded = batches = 0
    truncated: list[str] = []
    with consumer.locked():
        total = sum(1 for c in consumer.changes() if not c.deleted) if progress else 0
        if progress is not None:
            progress(0, total)
        for changes in consumer.batches(batch_size):
            docs = [_decode(c.entry) for c in changes if c.entry is not None]
            gone = [c.key.decode() for c in changes if c.entry is None]
            vectors = None
            if docs:
                texts = []
                for doc in docs:
                    text, cut = embedding_text(doc, max_chars)
                    texts.append(text)
                    if cut:
                        truncated.append(doc.id)
                vectors = embedder.embed(texts)
            batch = kv.batch()
            fence = consumer.stage(batch, changes[-1].seq)
            index.update([doc.id for doc in docs], vectors, delete=gone, batch=batch, fence=fence)
            if docs:
                embedded += len(docs)
                batches += 1
            if progress is not None and docs:
                progress(embedded, max(total, embedded))
    return EmbedReport(embedded=embedded, batches=batches, truncated=tuple(truncated))


def reset_embeddings(kv: KV, index: VectorIndex, *, watcher_name: str = "embeddocs") -> None:
    """Drop every vector and rewind the watcher, so `embed_docs` embeds all docs again
    (after switching embedders, say)."""
    consumer = Consumer(kv, KIND, watcher_name)
    with consumer.locked():
        index.clear()
        consumer.restart()


def index_stats(
    kv: KV, name: str = "docs", *, watcher_name: str = "embeddocs"
) -> dict[str, int | str | None]:
    """Numbers for `cairn index stats`: docs, docs not yet embedded, vectors, dims, the
    embedder, and sizes (vectors' float32 payload, the saved HNSW graph, changes since)."""
    docs = sum(1 for _ in Docs(kv).ids())
    waiting = sum(1 for c in Consumer(kv, KIND, watcher_name).changes() if not c.deleted)
    stats = VectorIndex(kv, name).stats()
    return {
        "docs": docs,
        "docs_to_embed": waiting,
        "vectors": stats.count,
        "dims": stats.dims,
        "embedder": stats.model,
        "vector_bytes": stats.vector_bytes,
        "hnsw_snapshot_bytes": stats.snapshot_bytes,
        "changes_since_snapshot": stats.pending,
    }


def search_docs(
    kv: KV,
    embedder: Embedder,
    index: VectorIndex,
    query: str,
    k: int = 10,
    *,
    exact: bool | None = None,
) -> list[dict[str, object]]:
    """The k docs most similar to `query`, best first: id, score, title and a snippet
    (what `cairn index search` prints and the assistant's `search_docs` tool reads)."""
    matches = index.search(embedder.embed([query])[0], k, exact=exact)
    docs = Docs(kv)
    rows: list[dict[str, object]] = []
    for match in matches:
        doc = docs.get(match.id)
        rows.append(
            {
                "id": match.id,
                "score": round(match.score, 6),
                "title": doc.title if doc else "",
                "snippet": " ".join(doc.text.split())[:160] if doc else "",
            }
        )
    return rows
