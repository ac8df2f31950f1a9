"""The index package's exception hierarchy."""

from __future__ import annotations

from ..errors import CairnError


class IndexingError(CairnError):
    """Base class: documents cannot be embedded, stored or searched as asked."""


class EmbeddingError(IndexingError):
    """An embedder failed: the model cannot be loaded, or the server refused or is away."""


class VectorIndexError(IndexingError):
    """A vector does not fit the index (wrong dimension, not finite), or the index is damaged."""
