"""Choosing an embedder by name, as the CLI and config do: "local", "openai", "hash"."""

from __future__ import annotations

import os

from ._embedder import Embedder, HashEmbedder
from ._errors import EmbeddingError
from ._local import LocalEmbedder
from ._openai import DEFAULT_BASE_URL, DEFAULT_MODEL, OpenAIEmbedder

EMBEDDERS = ("local", "openai", "hash")


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
        return OpenAIEmbedder(
            base_url
            or env.get("CAIRN_EMBEDDINGS_URL")
            or env.get("OPENAI_BASE_URL")
            or DEFAULT_BASE_URL,
            model or env.get("CAIRN_EMBEDDINGS_MODEL") or DEFAULT_MODEL,
            api_key=api_key or env.get("CAIRN_EMBEDDINGS_API_KEY") or env.get("OPENAI_API_KEY"),
            dims=dims,
        )
    raise EmbeddingError(f"unknown embedder {kind!r}; choose one of {', '.join(EMBEDDERS)}")


def embedder_kind(name: str) -> tuple[str, str | None, int | None]:
    """(kind, model, dims) for an embedder name recorded in an index, e.g.
    "openai:nomic-embed-text" → ("openai", "nomic-embed-text", None)."""
    if name.startswith("openai:"):
        return "openai", name.removeprefix("openai:"), None
    if name.startswith("hash-") and name.removeprefix("hash-").isdigit():
        return "hash", None, int(name.removeprefix("hash-"))
    if name == LocalEmbedder.name:
        return "local", None, None
    raise EmbeddingError(f"index was filled by an unknown embedder {name!r}")
