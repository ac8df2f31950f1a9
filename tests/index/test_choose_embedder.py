"""The one embedder-choice policy (`cairn.index.choose_embedder`), used by `cairn index`
and the copilot's examples alike."""

from __future__ import annotations

from pathlib import Path

from cairn.index import (
    EmbedderChoice,
    HashEmbedder,
    VectorIndex,
    choose_embedder,
    recorded_embedder,
)
from cairn.store import open_store


def test_an_empty_index_takes_the_kind_asked_else_the_local_model() -> None:
    assert choose_embedder(None) == EmbedderChoice("local")
    assert choose_embedder(None, "openai", "m") == EmbedderChoice("openai", "m")


def test_the_embedder_that_filled_the_index_carries_over_with_its_model_and_dims() -> None:
    assert choose_embedder("hash-48") == EmbedderChoice("hash", None, 48, "hash-48")
    assert choose_embedder("hash-48", "hash") == EmbedderChoice("hash", None, 48, "hash-48")
    assert choose_embedder("openai:nomic") == EmbedderChoice(
        "openai", "nomic", None, "openai:nomic"
    )
    # a model given wins over the recorded one
    assert choose_embedder("openai:nomic", model="m").model == "m"


def test_another_kind_or_a_refill_takes_what_was_asked_and_says_what_was_recorded() -> None:
    other = choose_embedder("hash-48", "local")
    assert other == EmbedderChoice("local", None, None, "hash-48")
    assert other.recorded_kind == "hash"
    assert choose_embedder("hash-48", "hash", refill=True).dims is None
    # a refill without a kind re-embeds with the same embedder
    assert choose_embedder("hash-48", refill=True).dims == 48


def test_the_recorded_embedder_is_read_from_the_store(tmp_path: Path) -> None:
    kv = open_store(str(tmp_path / "cairn.db"))
    try:
        assert recorded_embedder(kv, "docs") is None
        embedder = HashEmbedder(48)
        index = VectorIndex(kv, "docs", model=embedder.name)
        index.set("a", embedder.embed(["some text"])[0])
        assert recorded_embedder(kv, "docs") == "hash-48"
    finally:
        kv.close()
