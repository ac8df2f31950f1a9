"""Fixtures for cairn.index: a store on disk, the fake OpenAI (real wire protocol over a
real socket) as an embeddings server, and a counting embedder."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from cairn.index import HashEmbedder, LocalEmbedder
from cairn.store import SQLiteKV

from ..llm.fake_openai import FakeOpenAI

API_KEY = "sk-test-key"


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[SQLiteKV]:
    store = SQLiteKV(tmp_path / "store.db")
    yield store
    store.close()


@pytest.fixture
def embeddings_server() -> Iterator[FakeOpenAI]:
    """The fake OpenAI, with a key, answering embeddings with hashed-words vectors (as
    HashEmbedder(64) would)."""
    fake = FakeOpenAI(api_key=API_KEY, embed=HashEmbedder(64).embed)
    yield fake
    fake.close()


class CountingEmbedder:
    """A real embedder (hashed words) that counts the texts it was asked to embed."""

    def __init__(self, dims: int = 64) -> None:
        self.inner = HashEmbedder(dims)
        self.calls = 0
        self.texts: list[str] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dims(self) -> int:
        return self.inner.dims

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls += 1
        self.texts.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    return LocalEmbedder()


def clustered(n: int, dims: int, *, clusters: int, seed: int) -> NDArray[np.float32]:
    """Random vectors around `clusters` centres, each cluster spread in a few directions
    of its own (as real embeddings are), plus a little noise in all of them."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dims)).astype(np.float32)
    axes = rng.standard_normal((clusters, 8, dims)).astype(np.float32) * 0.35
    which = rng.integers(0, clusters, n)
    spread = np.einsum("nk,nkd->nd", rng.standard_normal((n, 8)).astype(np.float32), axes[which])
    noise = rng.standard_normal((n, dims)).astype(np.float32) * 0.05
    return (centres[which] + spread + noise).astype(np.float32)
