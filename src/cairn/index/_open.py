"""Embedders by name, as the CLI and config spell them: "local", "openai", "hash";
reading back the name an index recorded; and the one policy for which embedder an
index is searched or filled with (`choose_embedder`). `cairn.llm.open_embedder` opens
one by name: the remote client belongs to the model layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._errors import EmbeddingError
from ._local import LocalEmbedder

if TYPE_CHECKING:
    from ..store import KV

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


@dataclass(frozen=True)
class EmbedderChoice:
    """Which embedder to open for an index (`cairn.llm.open_embedder` opens it)."""

    kind: str
    model: str | None = None
    dims: int | None = None
    recorded: str | None = None  # the embedder that filled the index (None: empty)

    @property
    def recorded_kind(self) -> str | None:
        return embedder_kind(self.recorded)[0] if self.recorded is not None else None


def recorded_embedder(kv: KV, name: str) -> str | None:
    """The name of the embedder whose vectors the index `name` holds (None: none yet)."""
    from . import VectorIndex

    return VectorIndex(kv, name).stats().model


def choose_embedder(
    recorded: str | None,
    kind: str | None = None,
    model: str | None = None,
    *,
    refill: bool = False,
) -> EmbedderChoice:
    """The one policy for which embedder searches or fills an index filled by `recorded`:
    `kind` if given, else the one that filled it, else the local model. The recorded
    model and dimensions carry over (a `model` given wins) when the kind is the recorded
    one, unless the index is to be refilled with a kind named anew. Whether a different
    choice is allowed is the caller's to say."""
    if recorded is None:
        return EmbedderChoice(kind or "local", model)
    recorded_kind, recorded_model, dims = embedder_kind(recorded)
    if kind is not None and (kind != recorded_kind or refill):
        return EmbedderChoice(kind, model, None, recorded)
    return EmbedderChoice(recorded_kind, model or recorded_model, dims, recorded)
