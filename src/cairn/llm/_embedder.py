"""Embedders by name, and the one embeddings client for remote servers.

`open_embedder("local" | "hash" | "openai")` is the one place an embedder is chosen by
name (the CLI's `--embedder`, the examples' store, `cairn eval`). "local" and "hash"
are `cairn.index`'s own; "openai" is `ModelEmbedder` over this layer's `OpenAIModel`, so
there is one client for OpenAI-compatible embeddings (OpenAI, Ollama, vLLM, llama.cpp):
the `openai` SDK's, which retries 408/409/429/5xx with backoff and honours Retry-After
(up to a minute), redacts its inputs, and can be recorded like every model call.
It lives here, not in `cairn.index`, because the index sits below the model layer.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..index import (
    EMBEDDERS,
    EmbeddingError,
    HashEmbedder,
    IndexingError,
    LocalEmbedder,
    VectorIndex,
    as_matrix,
    choose_embedder,
    recorded_embedder,
)
from ._errors import LLMError, ProviderError, ProviderUnavailableError
from ._model import run_sync
from ._openai import OpenAIModel

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from ..index import Embedder
    from ..store import KV

DEFAULT_EMBEDDINGS_URL = "https://api.openai.com/v1"
DEFAULT_EMBEDDINGS_MODEL = "text-embedding-3-small"

_HINTS = {
    401: " (check the API key: CAIRN_EMBEDDINGS_API_KEY or OPENAI_API_KEY)",
    403: " (the API key may lack access to this model)",
    404: " (check the base URL: it should end in /v1 for most servers)",
}


class ModelEmbedder:
    """`cairn.index`'s `Embedder` over an OpenAI-compatible model's `embed` (in batches,
    rows checked)."""

    def __init__(
        self, model: OpenAIModel, *, batch_size: int = 128, dims: int | None = None
    ) -> None:
        if batch_size < 1:
            raise EmbeddingError(f"batch size must be at least 1, not {batch_size}")
        self.model = model
        self.batch_size = batch_size
        self._dims = dims
        base_url = model.base_url or DEFAULT_EMBEDDINGS_URL
        self.url = f"{base_url.rstrip('/')}/embeddings"

    @property
    def name(self) -> str:
        return f"openai:{self.model.name}"

    @property
    def dims(self) -> int | None:
        return self._dims

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        if not texts:
            return np.zeros((0, self._dims or 0), dtype=np.float32)
        parts = [
            self._embed_batch(list(texts[i : i + self.batch_size]))
            for i in range(0, len(texts), self.batch_size)
        ]
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _embed_batch(self, texts: list[str]) -> NDArray[np.float32]:
        try:
            result = run_sync(self.model.embed(texts))
        except ProviderUnavailableError as exc:
            raise EmbeddingError(
                f"cannot reach the embeddings server at {self.url}: {_first_line(exc)}"
                " (is it running? set the URL with --base-url or CAIRN_EMBEDDINGS_URL)"
            ) from None
        except ProviderError as exc:
            hint = _HINTS.get(exc.status or 0, "")
            raise EmbeddingError(f"embeddings: {_first_line(exc)}{hint}") from None
        except LLMError as exc:
            raise EmbeddingError(f"embeddings: {_first_line(exc)}") from None
        source = f"embeddings server {self.url}"
        if len(result.vectors) != len(texts):
            raise EmbeddingError(
                f"{source} returned {len(result.vectors)} embeddings for {len(texts)} inputs"
            )
        matrix = as_matrix(result.vectors, len(texts), self._dims, source)
        self._dims = int(matrix.shape[1])
        return matrix

    def close(self) -> None:
        run_sync(self.model.aclose())


def open_embedder(
    kind: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    dims: int | None = None,
) -> Embedder:
    """An embedder of `kind`. For "openai", unset options come from the environment:
    CAIRN_EMBEDDINGS_URL (else OPENAI_BASE_URL, else OpenAI's), CAIRN_EMBEDDINGS_MODEL,
    CAIRN_EMBEDDINGS_API_KEY (else OPENAI_API_KEY)."""
    if kind == "local":
        return LocalEmbedder()
    if kind == "hash":
        return HashEmbedder(dims or 384)
    if kind == "openai":
        env = os.environ
        client = OpenAIModel(
            model or env.get("CAIRN_EMBEDDINGS_MODEL") or DEFAULT_EMBEDDINGS_MODEL,
            base_url=(
                base_url
                or env.get("CAIRN_EMBEDDINGS_URL")
                or env.get("OPENAI_BASE_URL")
                or DEFAULT_EMBEDDINGS_URL
            ),
            api_key=api_key or env.get("CAIRN_EMBEDDINGS_API_KEY") or env.get("OPENAI_API_KEY"),
        )
        return ModelEmbedder(client, dims=dims)
    raise EmbeddingError(f"unknown embedder {kind!r}; choose one of {', '.join(EMBEDDERS)}")


def open_index_embedder(
    kv: KV,
    index_name: str,
    kind: str | None = None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    rebuild: bool = False,
) -> tuple[Embedder, VectorIndex]:
    """The embedder that searches (or, with `rebuild`, refills) the vector index
    `index_name`, chosen by `choose_embedder`, and the index; IndexingError when the index
    holds another embedder's vectors (and no rebuild is asked for)."""
    recorded = recorded_embedder(kv, index_name)
    choice = choose_embedder(recorded, kind, model, refill=rebuild)
    embedder = open_embedder(choice.kind, model=choice.model, base_url=base_url, dims=choice.dims)
    if recorded is not None and recorded != embedder.name and not rebuild:
        raise IndexingError(
            f"the index holds vectors from {recorded!r}, not {embedder.name!r}:"
            " search with the same embedder, or re-embed everything with"
            " `cairn index add --rebuild`"
        )
    return embedder, VectorIndex(kv, index_name, model=None if rebuild else embedder.name)


def _first_line(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


__all__ = [
    "DEFAULT_EMBEDDINGS_MODEL",
    "DEFAULT_EMBEDDINGS_URL",
    "ModelEmbedder",
    "open_embedder",
    "open_index_embedder",
]
