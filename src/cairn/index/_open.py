"""Embedders by name, as the CLI and config spell them: "local", "openai", "hash", and
reading back the name an index recorded (`cairn.llm.open_embedder` opens one by name:
the remote client belongs to the model layer)."""

from __future__ import annotations

from ._errors import EmbeddingError
from ._local import LocalEmbedder

EMBEDDERS = ("local", "openai", "hash")


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
