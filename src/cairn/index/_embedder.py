"""The Embedder interface, and the deterministic hashed-words embedder used by tests.

An embedder turns a batch of texts into one float32 row per text. Vectors from
embedders with different `name`s are not comparable; a vector index records the name
of the embedder that filled it.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ._errors import EmbeddingError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_WORD = re.compile(r"\w+")


class Embedder(Protocol):
    """Texts in, float32 vectors out (shape `(len(texts), dims)`)."""

    @property
    def name(self) -> str:
        """Identifies the model: vectors are comparable only among equal names."""
        ...

    @property
    def dims(self) -> int | None:
        """Vector length, or None until the first call tells (remote models)."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One row per text. Raises EmbeddingError when the model fails."""
        ...


def as_matrix(rows: object, count: int, dims: int | None, source: str) -> NDArray[np.float32]:
    """Check an embedder's output: `count` finite float32 rows of equal length."""
    import numpy as np

    try:
        matrix = np.asarray(rows, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{source} returned vectors that are not numbers: {exc}") from None
    if matrix.ndim != 2 or matrix.shape[0] != count:
        raise EmbeddingError(
            f"{source} returned {matrix.shape[0] if matrix.ndim else 0} vectors"
            f" of shape {matrix.shape[1:]} for {count} texts"
        )
    if dims is not None and matrix.shape[1] != dims:
        raise EmbeddingError(f"{source} returned {matrix.shape[1]}-dim vectors, expected {dims}")
    if not np.isfinite(matrix).all():
        raise EmbeddingError(f"{source} returned vectors with NaN or infinite values")
    return matrix


@functools.lru_cache(maxsize=1 << 16)
def _feature(word: str, dims: int) -> tuple[int, float]:
    h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
    return h % dims, 1.0 if h >> 63 else -1.0


class HashEmbedder:
    """Signed feature hashing of lower-cased words with sublinear counts, L2-normalised.

    Deterministic and instant, with no model: texts that share words score higher than
    texts that do not. It knows nothing of meaning (no synonyms); use it in tests and
    as an offline fallback. A text without words maps to the zero vector.
    """

    def __init__(self, dims: int = 384) -> None:
        if dims < 1:
            raise EmbeddingError(f"hash embedder needs dims >= 1, not {dims}")
        self._dims = dims

    @property
    def name(self) -> str:
        return f"hash-{self._dims}"

    @property
    def dims(self) -> int:
        return self._dims

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        out = np.zeros((len(texts), self._dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for word, count in Counter(_WORD.findall(text.lower())).items():
                column, sign = _feature(word, self._dims)
                out[row, column] += sign * (1.0 + math.log(count))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out
