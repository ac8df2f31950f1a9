"""Embeddings and search over documents: embedders (a local sentence-transformers model,
OpenAI-compatible servers, a deterministic hashed-words embedder), a persistent vector
index with exact and approximate (HNSW) search, and the docs corpus with incremental
embedding.

Importing this package is cheap: numpy, torch and usearch load on first use.
"""

from __future__ import annotations

from ._docs import (
    KIND,
    MAX_CHARS,
    Doc,
    Docs,
    EmbedReport,
    delete_docs,
    embed_docs,
    embedding_text,
    index_stats,
    reset_embeddings,
    search_docs,
)
from ._embedder import Embedder, HashEmbedder, as_matrix
from ._errors import EmbeddingError, IndexingError, VectorIndexError
from ._hnsw import HNSWParams
from ._local import LocalEmbedder
from ._markdown import (
    AddReport,
    SkippedFile,
    UnreadableFilesError,
    add_markdown,
    markdown_docs,
    slugify,
    split_markdown,
)
from ._open import EMBEDDERS, EmbedderChoice, choose_embedder, embedder_kind, recorded_embedder
from ._vectors import IndexStats, Match, VectorIndex

__all__ = [
    "EMBEDDERS",
    "KIND",
    "MAX_CHARS",
    "AddReport",
    "Doc",
    "Docs",
    "EmbedReport",
    "Embedder",
    "EmbedderChoice",
    "EmbeddingError",
    "HNSWParams",
    "HashEmbedder",
    "IndexStats",
    "IndexingError",
    "LocalEmbedder",
    "Match",
    "SkippedFile",
    "UnreadableFilesError",
    "VectorIndex",
    "VectorIndexError",
    "add_markdown",
    "as_matrix",
    "choose_embedder",
    "delete_docs",
    "embed_docs",
    "embedder_kind",
    "embedding_text",
    "index_stats",
    "markdown_docs",
    "recorded_embedder",
    "reset_embeddings",
    "search_docs",
    "slugify",
    "split_markdown",
]
